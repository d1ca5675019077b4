#!/usr/bin/env bash
# Default notices survive pg_dump and pg_restore as recorded: confirmed,
# unreachable, disputed, cured, void and expired notices come back with the
# same evidence and deadlines, and the guard gives the same verdicts.
set -uo pipefail
src=cobranca_notice_src_$$
dst=cobranca_notice_dst_$$
dump=$(mktemp)
err=$(mktemp)
trap 'dropdb --if-exists "$src" 2>/dev/null; dropdb --if-exists "$dst" 2>/dev/null; rm -f "$dump" "$err"' EXIT
echo "1..5"
q() { psql -XAtq -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

createdb "$src" && q "$src" "CREATE EXTENSION cobranca" >/dev/null &&
q "$src" "SELECT count(*) FROM cobranca.generate_sample(11, 200)" >/dev/null &&
q "$src" "SELECT cobranca.draft_notices(now())" >/dev/null &&
q "$src" "
  SELECT count(CASE n.id % 5
           WHEN 0 THEN cobranca.confirm_notice(n.id, 'email', now(), '{\"read_receipt\": \"r\"}')
           WHEN 1 THEN cobranca.confirm_notice(n.id, 'letter', now(), '{\"ar\": \"AR1\"}')
           WHEN 2 THEN cobranca.notice_unreachable(n.id,
                  (SELECT jsonb_agg(jsonb_build_object('channel', ch, 'at', now(), 'result', 'failed'))
                     FROM unnest(ARRAY[CASE WHEN y.email IS NOT NULL THEN 'email' END,
                                       CASE WHEN y.phone IS NOT NULL THEN 'phone' END,
                                       CASE WHEN y.whatsapp IS NOT NULL THEN 'whatsapp' END,
                                       CASE WHEN y.address IS NOT NULL THEN 'letter' END]) ch
                    WHERE ch IS NOT NULL))
         END)
    FROM cobranca.default_notice n
    JOIN cobranca.contract c ON c.id = n.contract_id
    JOIN cobranca.payer y ON y.id = c.payer_id
   WHERE n.status = 'draft'" >/dev/null &&
# a dispute on a confirmed notice, a payment that cures one, an agreement that voids one
q "$src" "INSERT INTO cobranca.dispute (invoice_id, opened_on, reason)
          SELECT invoice_ids[1], current_date, 'contestação' FROM cobranca.default_notice
           WHERE status = 'confirmed' ORDER BY id LIMIT 1" >/dev/null &&
q "$src" "INSERT INTO cobranca.payment (invoice_id, paid_at, amount, method)
          SELECT i.id, now(), i.balance, 'pix'
            FROM (SELECT invoice_ids FROM cobranca.default_notice WHERE status = 'confirmed' ORDER BY id DESC LIMIT 1) n
            JOIN cobranca.invoice i ON i.id = ANY (n.invoice_ids) WHERE i.balance > 0" >/dev/null &&
q "$src" "SELECT cobranca.accept_agreement(cobranca.propose_agreement(ARRAY[(
             SELECT invoice_ids[1] FROM cobranca.default_notice WHERE status = 'unreachable' ORDER BY id LIMIT 1)],
           1, 0, current_date + 3), '{\"channel\": \"phone\"}')" >/dev/null &&
q "$src" "SELECT cobranca.expire_notices(now() + interval '20 days')" >/dev/null

statuses=$(q "$src" "SELECT string_agg(DISTINCT status, ',' ORDER BY status) FROM cobranca.default_notice")
if [ "$statuses" = "confirmed,cured,draft,expired,void" ]; then
	echo "ok 1 - notices in every state before the dump ($statuses)"
else
	echo "not ok 1 - notices in every state before the dump ($statuses)"
fi

fp() { q "$1" "SELECT count(*) || ':' || md5(string_agg(x::text, '|' ORDER BY x.id)) FROM cobranca.default_notice x"; }
verdicts() { q "$1" "SELECT md5(string_agg(n.id || k.condition || coalesce(k.detail, ''), '|' ORDER BY n.id))
                       FROM cobranca.default_notice n
                      CROSS JOIN LATERAL cobranca.cancellation_check(n.contract_id, 'default', current_date + 20) k"; }
before=$(fp "$src")
vbefore=$(verdicts "$src")

pg_dump -Fc -d "$src" -f "$dump" && createdb "$dst" &&
if pg_restore -d "$dst" --exit-on-error "$dump" 2>"$err"; then
	echo "ok 2 - pg_restore of a database with notices in every state"
else
	echo "not ok 2 - pg_restore of a database with notices in every state"; sed 's/^/# /' "$err"
fi
after=$(fp "$dst")
if [ -n "$before" ] && [ "$before" = "$after" ]; then
	echo "ok 3 - every notice restored as recorded ($before)"
else
	echo "not ok 3 - every notice restored as recorded"; echo "# before $before"; echo "# after  $after"
fi
vafter=$(verdicts "$dst")
[ -n "$vbefore" ] && [ "$vbefore" = "$vafter" ] && echo "ok 4 - the guard gives the same verdicts after the restore" \
	|| echo "not ok 4 - the guard gives the same verdicts after the restore"

# after the restore the evidence rules hold again for ordinary logins
q "$dst" "CREATE ROLE cobranca_notice_t_$$ NOLOGIN; GRANT cobranca_admin TO cobranca_notice_t_$$;
          GRANT SELECT, INSERT ON cobranca.default_notice TO cobranca_notice_t_$$" >/dev/null
row=$(q "$dst" "SELECT format('%s, %s, %s, %L, %s, %L, %L, %L', creditor_id, portfolio_id, contract_id, invoice_ids,
                             amount_due, default_since, drafted_on, body)
                  FROM cobranca.default_notice WHERE status = 'cured' LIMIT 1")
out=$(psql -XAtq -d "$dst" -c "SET SESSION AUTHORIZATION cobranca_notice_t_$$" -c "INSERT INTO cobranca.default_notice
     (creditor_id, portfolio_id, contract_id, invoice_ids, amount_due, default_since, drafted_on, body, status)
     VALUES ($row, 'confirmed')" 2>&1)
if grep -q "a default notice starts as a draft" <<<"$out"; then
	echo "ok 5 - a session that is not a superuser's cannot insert a confirmed notice"
else
	echo "not ok 5 - a session that is not a superuser's cannot insert a confirmed notice"; sed 's/^/# /' <<<"$out"
fi
dropdb "$dst"
q postgres "DROP ROLE cobranca_notice_t_$$" >/dev/null
