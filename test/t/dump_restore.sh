#!/usr/bin/env bash
# pg_dump of a database using cobranca, restored into a fresh database, keeps
# every row of every table, the sequences' positions and the documents
# readable; the ERP can go on writing.
set -uo pipefail
src=cobranca_dump_src_$$
dst=cobranca_dump_dst_$$
dump=$(mktemp)
trap 'dropdb --if-exists "$src"; dropdb --if-exists "$dst"; rm -f "$dump"' EXIT
echo "1..10"
q() { psql -XAtq -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

createdb "$src" && q "$src" "CREATE EXTENSION cobranca" &&
	q "$src" "SELECT count(*) FROM cobranca.generate_sample(7, 300, 6)" >/dev/null &&
	q "$src" "SELECT cobranca.maintain_partitions(now())" >/dev/null &&
	q "$src" "INSERT INTO cobranca.job_run (cycle, job, as_of, started_at, finished_at, rows, pid)
	          VALUES (0, 'in_default', '2001-01-01', '2001-01-01', '2001-01-01', 0, 0)" &&
	# a contact of the current month, in the partition the job made, with a
	# sender's report on it (contact_event refers to it by trigger)
	q "$src" "INSERT INTO cobranca.contact (creditor_id, portfolio_id, payer_id, invoice_ids, channel, contact_on, scheduled_at, status)
	          SELECT i.creditor_id, i.portfolio_id, i.payer_id, ARRAY[i.id], 'letter', (now() AT TIME ZONE 'UTC')::date, now(), 'sent'
	            FROM cobranca.invoice i ORDER BY i.id LIMIT 1
	          ON CONFLICT DO NOTHING" &&
	q "$src" "SELECT cobranca.record_contact_result(k.id, 'delivered') FROM cobranca.contact k
	           WHERE k.channel = 'letter' AND k.contact_on = (now() AT TIME ZONE 'UTC')::date ORDER BY k.id LIMIT 1" >/dev/null

# one fingerprint per table: row count and an md5 over the rows in id order
fingerprint() {
	q "$1" "SELECT string_agg(t || ':' || n || ':' || h, ' ' ORDER BY t) FROM (
	          SELECT c.relname AS t,
	                 (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM cobranca.%I', c.relname), false, true, '')))[1]::text AS n,
	                 (xpath('/row/h/text()', query_to_xml(format('SELECT md5(string_agg(x::text, ''|'' ORDER BY x.id)) AS h FROM cobranca.%I x', c.relname), false, true, '')))[1]::text AS h
	            FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
	           WHERE s.nspname = 'cobranca' AND c.relkind IN ('r', 'p')
	             AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'id')) f"
}

before=$(fingerprint "$src")
pg_dump -Fc -d "$src" -f "$dump" && echo "ok 1 - pg_dump" || echo "not ok 1 - pg_dump"
createdb "$dst"
if pg_restore -d "$dst" --exit-on-error "$dump" 2>/tmp/restore.err.$$; then
	echo "ok 2 - pg_restore into a fresh database"
else
	echo "not ok 2 - pg_restore into a fresh database"; sed 's/^/# /' /tmp/restore.err.$$
fi
rm -f /tmp/restore.err.$$
after=$(fingerprint "$dst")
if [ -n "$before" ] && [ "$before" = "$after" ]; then
	echo "ok 3 - every row of every table is restored unchanged"
else
	echo "not ok 3 - every row of every table is restored unchanged"
	diff <(tr ' ' '\n' <<<"$before") <(tr ' ' '\n' <<<"$after") | sed 's/^/# /'
fi

n=$(q "$dst" "SELECT count(*) FROM cobranca.payer WHERE cobranca.document_decrypt(document_cipher) IS NOT NULL AND cobranca.cpf_valid(cobranca.document_decrypt(document_cipher))")
total=$(q "$dst" "SELECT count(*) FROM cobranca.payer")
[ "$n" -gt 0 ] && [ "$n" = "$total" ] && echo "ok 4 - every restored document decrypts to a valid CPF ($n)" \
	|| echo "not ok 4 - restored documents decrypt ($n of $total)"

# the sequences were restored too: new rows get fresh ids
if q "$dst" "INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
             SELECT id, 'after-restore', 'private', current_date, current_date + 10, 99.90
               FROM cobranca.payer ORDER BY id LIMIT 1" 2>&1; then
	echo "ok 5 - new invoices can be written after the restore"
else
	echo "not ok 5 - new invoices can be written after the restore"
fi

bal=$(q "$dst" "SELECT count(*) FROM cobranca.invoice i
                 WHERE i.balance <> GREATEST(i.amount - COALESCE((SELECT sum(amount) FROM cobranca.payment p WHERE p.invoice_id = i.id), 0), 0)")
[ "$bal" = "0" ] && echo "ok 6 - every restored balance equals amount minus payments" \
	|| echo "not ok 6 - $bal restored balances disagree with their payments"

# partitions made at run time by the job are ordinary tables: restored as
# partitions of their table, with their rows (counted in the fingerprint
# above); the default partition, part of the extension, keeps its rows
month=$(q "$src" "SELECT to_char(now() AT TIME ZONE 'UTC', '\"y\"YYYY\"m\"MM')")
parts=$(q "$dst" "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                   WHERE i.inhparent = 'cobranca.audit_log'::regclass AND c.relname = 'audit_log_$month'
                     AND EXISTS (SELECT 1 FROM cobranca.audit_log_$month)")
[ "$parts" = "1" ] && [ "$(q "$dst" "SELECT count(*) FROM pg_extension e JOIN pg_depend d ON d.refobjid = e.oid AND d.deptype = 'e'
                                      WHERE e.extname = 'cobranca' AND d.objid = 'cobranca.audit_log_$month'::regclass")" = "0" ] \
	&& echo "ok 7 - the month's partition made by maintain_partitions is restored attached, with its rows" \
	|| echo "not ok 7 - the month's partition made by maintain_partitions is restored attached, with its rows ($parts)"
def=$(q "$dst" "SELECT job FROM cobranca.job_run_default")
made=$(q "$dst" "SELECT cobranca.maintain_partitions(now())")
[ "$def" = "in_default" ] && [ "$made" = "0" ] \
	&& echo "ok 8 - the default partition's rows are restored; the job finds every partition in place" \
	|| echo "not ok 8 - default partition rows ($def), partitions the job made after the restore ($made)"

# the same for contact: the job's partition of the month comes back attached,
# with its rows and its own keys; the events referring to its contacts too,
# and the references are still enforced
parts=$(q "$dst" "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                   WHERE i.inhparent = 'cobranca.contact'::regclass AND c.relname = 'contact_$month'
                     AND EXISTS (SELECT 1 FROM cobranca.contact_$month)
                     AND (SELECT count(*) FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype IN ('p', 'u')) = 2")
ev=$(q "$dst" "SELECT count(*) FROM cobranca.contact_event e JOIN cobranca.contact_$month k ON k.id = e.contact_id")
[ "$parts" = "1" ] && [ "$ev" -ge 1 ] \
	&& echo "ok 9 - contact's partition of the month made by the job is restored attached, with its rows, keys and events" \
	|| echo "not ok 9 - contact's partition of the month is restored attached with its rows, keys and events ($parts, $ev)"
bad=$(psql -XAtq -d "$dst" -c "INSERT INTO cobranca.contact_event (creditor_id, contact_id, outcome, at)
                                SELECT id, 999999999, 'sent', now() FROM cobranca.creditor LIMIT 1" 2>&1)
q "$dst" "SELECT cobranca.record_contact_result(k.id, 'read') FROM cobranca.contact_$month k ORDER BY k.id LIMIT 1" >/dev/null
rc=$?
if grep -q 'violates foreign key "contact_event_contact_id_fkey"' <<<"$bad" && [ "$rc" -eq 0 ]; then
	echo "ok 10 - after the restore an event needs an existing contact, and results are recorded"
else
	echo "not ok 10 - after the restore an event needs an existing contact, and results are recorded ($bad, $rc)"
fi
