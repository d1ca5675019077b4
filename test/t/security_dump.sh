#!/usr/bin/env bash
# Documents and the audit log through pg_dump and a restore: the dump carries
# only ciphertext, a fresh database restored from it reads the documents
# back with the same master key, the audit chains still verify, the restore
# adds no audit rows; master key rotation keeps documents readable in new
# sessions; a wrong master key or an altered key ring fails cleanly.
set -uo pipefail
src=cobranca_secdump_src_$$
dst=cobranca_secdump_dst_$$
dump=$(mktemp)
wrongkey=/tmp/cobranca_wrong_master_$$.key
erp=sec_t_copy_erp_$$
trap 'dropdb --if-exists "$src"; dropdb --if-exists "$dst"; psql -XAtq -d postgres -c "DROP ROLE IF EXISTS $erp"; rm -f "$dump" "$wrongkey" 2>/dev/null' EXIT
echo "1..16"
q() { psql -XAtq -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
t=0
check() {	# check "description" command...
	local what=$1; shift
	t=$((t + 1))
	if "$@"; then echo "ok $t - $what"; else echo "not ok $t - $what"; fi
}

createdb "$src" && q "$src" "CREATE EXTENSION cobranca" 2>/dev/null &&
	q "$src" "SELECT count(*) FROM cobranca.generate_sample(11, 30, 3)" >/dev/null &&
	q "$src" "SELECT cobranca.audit_seal()" >/dev/null

docs=$(q "$src" "SELECT cobranca.document_decrypt(document_cipher) FROM cobranca.payer ORDER BY id")
ndocs=$(wc -l <<<"$docs")
pg_dump -Fp -d "$src" -f "$dump"
leaks=0
while read -r d; do
	[ -z "$d" ] && continue
	punct="${d:0:3}.${d:3:3}.${d:6:3}-${d:9:2}"
	grep -qF -e "$d" -e "$punct" "$dump" && leaks=$((leaks + 1))
done <<<"$docs"
check "pg_dump output holds none of the $ndocs documents in clear" test "$ndocs" -gt 0 -a "$leaks" -eq 0
cipher=$(q "$src" "SELECT encode(document_cipher, 'hex') FROM cobranca.payer ORDER BY id LIMIT 1")
check "pg_dump output carries the ciphertext and the wrapped data key" \
	bash -c "grep -qF '$cipher' '$dump' && grep -q 'key_ring' '$dump'"

createdb "$dst"
check "the plain dump restores into a fresh database" \
	bash -c "psql -XAtq -v ON_ERROR_STOP=1 -d '$dst' -f '$dump' >/dev/null 2>/tmp/secdump.err.$$ || { sed 's/^/# /' /tmp/secdump.err.$$; rm -f /tmp/secdump.err.$$; false; }; rm -f /tmp/secdump.err.$$"
restored=$(q "$dst" "SELECT cobranca.document_decrypt(document_cipher) FROM cobranca.payer ORDER BY id")
check "every restored document decrypts, with the same master key, to the original" test -n "$restored" -a "$restored" = "$docs"
first=$(head -1 <<<"$docs")
check "find_payer works in the restored database" \
	test "$(q "$dst" "SELECT cobranca.find_payer('$first') = (SELECT min(id) FROM cobranca.payer WHERE cobranca.document_decrypt(document_cipher) = '$first')")" = "t"
check "the restore adds no audit rows and keeps every one" \
	test "$(q "$src" "SELECT count(*) || ':' || max(id) FROM cobranca.audit_log")" = "$(q "$dst" "SELECT count(*) || ':' || max(id) FROM cobranca.audit_log")"
check "the restored audit chains verify" test "$(q "$dst" "SELECT ok FROM cobranca.audit_verify()")" = "t"
q "$dst" "INSERT INTO cobranca.portfolio (creditor_id, name) SELECT min(id), 'after restore' FROM cobranca.creditor"
check "writes after the restore are audited and sealed into the restored chains" \
	test "$(q "$dst" "SELECT cobranca.audit_seal() || ':' || (SELECT ok FROM cobranca.audit_verify())")" = "1:true"

# bulk loads by an ERP login: COPY FROM into a table under row-level security
# is refused by PostgreSQL; COPY into a temporary table, then INSERT ... SELECT
q "$dst" "CREATE ROLE $erp IN ROLE cobranca_erp;
          INSERT INTO cobranca.erp_login (login, creditor_id) SELECT '$erp', creditor_id FROM cobranca.invoice ORDER BY id LIMIT 1"
inv=$(q "$dst" "SELECT id FROM cobranca.invoice ORDER BY id LIMIT 1")
out=$(printf '%s\n' "SET SESSION AUTHORIZATION $erp;" "COPY cobranca.payment (invoice_id, external_id, amount, method) FROM STDIN (FORMAT csv);" \
	"$inv,copy-direct,1.00,pix" '\.' | psql -XAtq -d "$dst" -v VERBOSITY=verbose 2>&1)
check "an ERP login cannot COPY FROM straight into a table under row-level security" \
	bash -c "grep -q '0A000' <<<'$out'"
out=$(printf '%s\n' "SET SESSION AUTHORIZATION $erp;" \
	"CREATE TEMP TABLE load (invoice_id bigint, external_id text, amount numeric, method text);" \
	"COPY load FROM STDIN (FORMAT csv);" "$inv,copy-1,1.00,pix" "$inv,copy-2,2.00,boleto" '\.' \
	"INSERT INTO cobranca.payment (invoice_id, external_id, amount, method) SELECT * FROM load;" \
	"SELECT count(*) FROM cobranca.payment WHERE external_id LIKE 'copy-%';" | psql -XAtq -v ON_ERROR_STOP=1 -d "$dst" 2>&1)
check "an ERP login loads in bulk with COPY into a temporary table and INSERT ... SELECT" test "$out" = "2"
out=$(printf '%s\n' "SET SESSION AUTHORIZATION $erp;" "COPY cobranca.payer TO STDOUT;" | psql -XAtq -d "$dst" -v VERBOSITY=verbose 2>&1)
check "COPY payer TO STDOUT is refused (ciphertext column)" bash -c "grep -q '42501' <<<'$out'"

# rotation: a new session (nothing cached) still reads every document
before=$(q "$dst" "SELECT cobranca.master_key_id()")
q "$dst" "SET client_min_messages = warning; SELECT cobranca.rotate_master_key()" >/dev/null
after=$(q "$dst" "SELECT cobranca.master_key_id() || ':' || (SELECT encode(master_key_id, 'hex') FROM cobranca.key_ring WHERE id = 1)")
check "rotate_master_key re-wraps the data key under a new master key" test "$after" = "${after#*:}:${after#*:}" -a "${after%%:*}" != "$before"
check "after rotation, a new session decrypts every document" \
	test "$(q "$dst" "SELECT cobranca.document_decrypt(document_cipher) FROM cobranca.payer ORDER BY id")" = "$docs"

# a wrong master key: a clean error with its SQLSTATE, no document in it
q "$dst" "COPY (SELECT repeat('5a', 32)) TO PROGRAM 'umask 077; cat > $wrongkey'"
out=$(PGOPTIONS="-c cobranca.master_key_file=$wrongkey" psql -XAtq -d "$dst" -v VERBOSITY=verbose \
	-c "SELECT cobranca.document_decrypt(document_cipher) FROM cobranca.payer ORDER BY id LIMIT 1" 2>&1)
check "a wrong master key fails with F0000 and echoes no document" \
	bash -c "grep -q 'F0000' <<<'$out' && grep -q 'does not hold the key' <<<'$out' && ! grep -qF '$first' <<<'$out'"
# an altered key ring: the data key no longer authenticates
q "$dst" "UPDATE cobranca.key_ring SET wrapped = set_byte(wrapped, 40, get_byte(wrapped, 40) # 255)"
out=$(psql -XAtq -d "$dst" -v VERBOSITY=verbose -c "SELECT cobranca.document_decrypt(document_cipher) FROM cobranca.payer LIMIT 1" 2>&1)
check "an altered key ring fails with XX001" bash -c "grep -q 'XX001' <<<'$out' && grep -q 'does not open' <<<'$out'"
# a key file others may read is refused
q "$dst" "COPY (SELECT repeat('5a', 32)) TO PROGRAM 'cat > $wrongkey.open; chmod 0644 $wrongkey.open'"
out=$(PGOPTIONS="-c cobranca.master_key_file=$wrongkey.open" psql -XAtq -d "$dst" -v VERBOSITY=verbose \
	-c "SELECT cobranca.document_decrypt(document_cipher) FROM cobranca.payer LIMIT 1" 2>&1)
rm -f "$wrongkey.open" 2>/dev/null
check "a master key file readable by others is refused" bash -c "grep -q 'F0000' <<<'$out' && grep -q 'not acceptable' <<<'$out'"
