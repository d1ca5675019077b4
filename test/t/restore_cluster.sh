#!/usr/bin/env bash
# Backup and restore into another cluster, as a DBA does it (doc/operations.md):
# pg_dump of a database using every feature (encrypted documents, a sealed
# audit chain, notices, an accepted agreement, a reveal, a legal hold, contacts,
# scores), pg_restore into a fresh cluster of its own that is given a copy of
# the master key file.
#
#  - every row of every table arrives unchanged, the sequences continue
#  - audit_verify() passes on the restored chain, and sealing goes on
#  - the documents decrypt with the copied key file
#  - without the key (another key file) nothing decrypts, with a clear
#    error naming the key, while everything that needs no document works
set -uo pipefail
. "${COBRANCA_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/tools/env.sh"

echo "1..11"
n=0
check() {	# check "description" command...: one TAP line
	local what=$1; shift
	n=$((n + 1))
	if "$@"; then echo "ok $n - $what"; else echo "not ok $n - $what"; fi
}

bindir=$("$PG_CONFIG" --bindir)
libdir=$("$PG_CONFIG" --pkglibdir)
src=cobranca_rc_src_$$
tmp=$(mktemp -d /tmp/cobranca_restore.XXXXXX)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres "$tmp"
cleanup() {
	[ -f "$tmp/data/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1
	dropdb --if-exists "$src"
	rm -rf "$tmp"
}
trap cleanup EXIT
q() { psql -XAtq -v ON_ERROR_STOP=1 "$@"; }
# the target cluster, reached through its own socket directory
qt() { PGHOST=$tmp PGPORT=5432 PGUSER=postgres psql -XAtq -v ON_ERROR_STOP=1 -d restored "$@"; }

# ---- the source: a portfolio that went through cycles, with a sealed audit chain
createdb "$src" && q -d "$src" <<'SQL' >/dev/null || { echo "Bail out! source fixtures failed"; exit 1; }
CREATE EXTENSION cobranca;
SELECT count(*) FROM cobranca.generate_sample(5, 200, 6);
SELECT count(*) FROM cobranca.run_jobs();
-- the features the sample and one cycle do not reach by themselves
SELECT cobranca.accept_agreement(cobranca.propose_agreement(ids, 3), '{"channel": "phone"}')
  FROM (SELECT array_agg(id ORDER BY id) AS ids FROM cobranca.invoice
         WHERE status = 'open' AND balance > 0
           AND payer_id = (SELECT min(payer_id) FROM cobranca.invoice WHERE status = 'open' AND balance > 0)) x;
SELECT cobranca.reveal_document((SELECT min(id) FROM cobranca.payer), 'restore test: court order 123');
INSERT INTO cobranca.audit_hold (creditor_id, reason) SELECT min(id), 'lawsuit' FROM cobranca.creditor;
SELECT cobranca.refresh_scores(now());
SELECT cobranca.audit_seal();
SQL
keyfile=$(q -d "$src" -c "SHOW cobranca.master_key_file")
[ -n "$keyfile" ] && [ -r "$keyfile" ] || { echo "Bail out! the source cluster's master key file is not readable ($keyfile)"; exit 1; }

fingerprint() {	# one line per table: name, row count, md5 over the rows in text order
	"$@" -c "SELECT string_agg(t || ':' || n || ':' || h, ' ' ORDER BY t) FROM (
	          SELECT c.relname AS t,
	                 (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM cobranca.%I', c.relname), false, true, '')))[1]::text AS n,
	                 (xpath('/row/h/text()', query_to_xml(format('SELECT md5(string_agg(x::text, ''|'' ORDER BY x::text)) AS h FROM cobranca.%I x', c.relname), false, true, '')))[1]::text AS h
	            FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
	           WHERE s.nspname = 'cobranca' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
	             AND c.relname NOT IN ('audit_seal_state', 'invoice_score')) f"
}
# invoice_score is derived and not dumped: the next cycle recomputes it
before=$(fingerprint q -d "$src")
scores=$(q -d "$src" -c "SELECT count(*) FROM cobranca.invoice_score")
pg_dump -Fc -d "$src" -f "$tmp/backup.dump"
check "pg_dump -Fc of the source database" test -s "$tmp/backup.dump"

# ---- the target: a new cluster with a copy of the master key file
install -m 0600 "$keyfile" "$tmp/master.key"
[ "$(id -u)" -eq 0 ] && chown postgres "$tmp/master.key"
as_pg "$bindir/initdb" -D "$tmp/data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C >/dev/null ||
	{ echo "Bail out! initdb failed"; exit 1; }
cat >>"$tmp/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$tmp'
port = 5432
fsync = off
extension_destdir = '$STAGE'
dynamic_library_path = '$STAGE$libdir:\$libdir'
cobranca.master_key_file = '$tmp/master.key'
EOF
as_pg "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 start >/dev/null ||
	{ echo "Bail out! the target cluster did not start"; exit 1; }
PGHOST=$tmp PGPORT=5432 PGUSER=postgres createdb restored
PGHOST=$tmp PGPORT=5432 PGUSER=postgres pg_restore -d restored --exit-on-error "$tmp/backup.dump" 2>"$tmp/restore.err"
check "pg_restore into a fresh cluster" test ! -s "$tmp/restore.err"
[ -s "$tmp/restore.err" ] && sed 's/^/# /' "$tmp/restore.err"

after=$(fingerprint qt)
if [ -n "$before" ] && [ "$before" = "$after" ]; then
	check "every row of every table arrives unchanged ($(wc -w <<<"$before") tables)" true
else
	check "every row of every table arrives unchanged" false
	diff <(tr ' ' '\n' <<<"$before") <(tr ' ' '\n' <<<"$after") | sed 's/^/# /'
fi

f=$(qt -c "SELECT (SELECT count(*) FROM cobranca.agreement WHERE status = 'active') || '/' ||
                   (SELECT count(*) FROM cobranca.agreement_installment) || '/' ||
                   (SELECT count(*) FROM cobranca.audit_log WHERE operation = 'REVEAL') || '/' ||
                   (SELECT count(*) FROM cobranca.audit_hold) || '/' ||
                   (SELECT count(*) FROM cobranca.default_notice)")
check "the accepted agreement, its installments, the reveal, the hold and the notices are there ($f)" \
	bash -c '[[ "$1" =~ ^1/3/1/1/[1-9] ]]' _ "$f"
v=$(qt -c "SELECT ok FROM cobranca.audit_verify()")
check "audit_verify() passes on the restored chain ($v)" test "$v" = t

bad=$(qt -c "SELECT count(*) FILTER (WHERE NOT cobranca.cpf_valid(cobranca.document_decrypt(document_cipher))
                                        AND NOT cobranca.cnpj_valid(cobranca.document_decrypt(document_cipher))),
                    count(*) FROM cobranca.payer")
check "every document decrypts to a valid CPF/CNPJ with the copied key ($bad)" \
	bash -c '[[ "$1" =~ ^0\|[1-9] ]]' _ "$bad"

s=$(qt -c "SELECT count(*) FROM cobranca.refresh_scores(now())" >/dev/null && qt -c "SELECT count(*) FROM cobranca.invoice_score")
check "the scores, not dumped, are recomputed by refresh_scores ($s of $scores)" test "$s" = "$scores"

# writing goes on: a payment, audited, and sealed into the restored chain
pid=$(qt -c "INSERT INTO cobranca.payment (invoice_id, external_id, amount, method)
             SELECT id, 'after-restore', 1.00, 'pix' FROM cobranca.invoice
              WHERE status = 'open' AND balance > 1 ORDER BY id LIMIT 1 RETURNING id")
r=$(qt -c "SELECT cobranca.audit_seal() > 0 AND (SELECT ok FROM cobranca.audit_verify())")
check "a new payment after the restore ($pid) is audited, sealed and the chain verifies ($r)" \
	test -n "$pid" -a "$r" = t

# ---- the same backup without the key: another key file
as_pg "$bindir/pg_ctl" -D "$tmp/data" -m fast -w stop >/dev/null
( umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$tmp/master.key"; echo >>"$tmp/master.key" )
[ "$(id -u)" -eq 0 ] && chown postgres "$tmp/master.key"
as_pg "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 start >/dev/null
err=$(qt -c "SELECT cobranca.document_decrypt(document_cipher) FROM cobranca.payer LIMIT 1" 2>&1)
check "with another master key, decrypting fails with a clear error" \
	bash -c '[[ "$1" == *"master key file does not hold the key"* ]]' _ "$err"
[[ "$err" == *"master key file does not hold the key"* ]] || echo "# $err"
k=$(qt -c "SELECT count(*) > 0 FROM cobranca.kpi_portfolio" 2>&1)
check "without the key, the KPIs (no documents needed) still work ($k)" test "$k" = t

# and the right key brings everything back
install -m 0600 "$keyfile" "$tmp/master.key"
[ "$(id -u)" -eq 0 ] && chown postgres "$tmp/master.key"
as_pg "$bindir/pg_ctl" -D "$tmp/data" -m fast -w stop >/dev/null
as_pg "$bindir/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 start >/dev/null
ok=$(qt -c "SELECT bool_and(cobranca.document_decrypt(document_cipher) IS NOT NULL) FROM cobranca.payer" 2>&1)
check "putting the right key file back makes the documents readable again ($ok)" test "$ok" = t
