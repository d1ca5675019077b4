-- RN 593 default notices over the sample portfolio: drafted, confirmed with
-- proof, refused cancellations, and a preview of expiry.

\echo == RN 593 notices: drafting (the job draft_notices; 0 when the cycle above already drafted them)
SELECT cobranca.draft_notices(now()) AS drafted_now;

\echo == Notices by portfolio and status (drafted on day notice_day of default, default 35)
SELECT p.name AS portfolio, n.status, count(*) AS notices,
       sum(n.amount_due) AS amount_due,
       min(n.drafted_on - n.default_since) AS min_day, max(n.drafted_on - n.default_since) AS max_day,
       round(avg(cardinality(n.invoice_ids)), 1) AS premiums_each
  FROM cobranca.default_notice n
  JOIN cobranca.portfolio p ON p.id = n.portfolio_id
 GROUP BY p.name, n.status
 ORDER BY p.name, n.status;

\echo == Not put through RN 593: company-paid collective contracts in default
SELECT c.plan_type, c.paid_by_person, count(*) AS contracts_in_default,
       count(n.id) AS with_notice
  FROM cobranca.default_facts(current_date) f
  JOIN cobranca.contract c ON c.id = f.contract_id
  LEFT JOIN cobranca.default_notice n ON n.contract_id = c.id
 WHERE f.unpaid_premiums >= 2
 GROUP BY c.plan_type, c.paid_by_person
 ORDER BY c.plan_type;

\echo == One notice as the beneficiary reads it
SELECT body FROM cobranca.default_notice ORDER BY id LIMIT 1 \g (format=unaligned tuples_only=on)

\echo == Confirming receipt, each channel with its proof (one in six stays a draft)
SELECT x.channel, count(*) AS confirmed, min(x.deadline) AS deadline
  FROM (
    SELECT CASE n.id % 6 WHEN 0 THEN 'email' WHEN 1 THEN 'whatsapp' WHEN 2 THEN 'phone'
                         WHEN 3 THEN 'letter' ELSE 'unreachable' END AS channel,
           CASE n.id % 6
             WHEN 0 THEN cobranca.confirm_notice(n.id, 'email', now(),
                           jsonb_build_object('read_receipt', 'MDN ' || n.id))
             WHEN 1 THEN cobranca.confirm_notice(n.id, 'whatsapp', now(),
                           '{"reply": "Recebi a notificação, obrigado."}')
             WHEN 2 THEN cobranca.confirm_notice(n.id, 'phone', now(),
                           jsonb_build_object('recording', 'gravacoes/' || n.id || '.wav', 'data_confirmed', true))
             WHEN 3 THEN cobranca.confirm_notice(n.id, 'letter', now(),
                           jsonb_build_object('ar', 'AR BR' || lpad(n.id::text, 9, '0') || 'BR'))
             ELSE cobranca.notice_unreachable(n.id,
                    (SELECT jsonb_agg(jsonb_build_object('channel', ch, 'at', now(), 'result', 'sem resposta'))
                       FROM unnest(ARRAY[CASE WHEN y.email IS NOT NULL THEN 'email' END,
                                         CASE WHEN y.phone IS NOT NULL THEN 'phone' END,
                                         CASE WHEN y.whatsapp IS NOT NULL THEN 'whatsapp' END,
                                         CASE WHEN y.address IS NOT NULL THEN 'letter' END]) ch
                      WHERE ch IS NOT NULL))
           END AS deadline
      FROM cobranca.default_notice n
      JOIN cobranca.contract c ON c.id = n.contract_id
      JOIN cobranca.payer y ON y.id = c.payer_id
     WHERE n.status = 'draft' AND n.id % 6 <> 5
     ORDER BY n.id
  ) x
 GROUP BY x.channel
 ORDER BY x.channel;

\echo == Refused: a confirmation by WhatsApp without the beneficiary reply
DO $$
BEGIN
  PERFORM cobranca.confirm_notice((SELECT min(id) FROM cobranca.default_notice WHERE status = 'draft'),
                                  'whatsapp', now(), '{"delivered": true, "read": true}');
EXCEPTION WHEN check_violation THEN
  RAISE NOTICE 'refused (%): %', SQLSTATE, SQLERRM;
END
$$;

\echo == Staff KPI: notices whose 10 days started by day 50 of the default
SELECT count(*) FILTER (WHERE confirmed_by_day_50) AS by_day_50,
       count(*) AS confirmed_or_unreachable,
       round(100.0 * count(*) FILTER (WHERE confirmed_by_day_50) / nullif(count(*), 0), 1) AS pct
  FROM cobranca.default_notice WHERE term_start_on IS NOT NULL;

\echo == Refused today: cancelling a contract whose notice was just confirmed
DO $$
DECLARE
  c bigint := (SELECT contract_id FROM cobranca.default_notice WHERE status = 'confirmed' ORDER BY id LIMIT 1);
  msg text; det text;
BEGIN
  UPDATE cobranca.contract SET status = 'cancelled', status_reason = 'default' WHERE id = c;
EXCEPTION WHEN SQLSTATE 'P0593' THEN
  GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
  RAISE NOTICE 'P0593 %', msg;
  RAISE NOTICE '      %', det;
END
$$;

\echo == cancellation_eligible today (empty until a deadline passes)
SELECT count(*) AS eligible_today FROM cobranca.cancellation_eligible;

\echo == Preview, 11 days from now (rolled back): a payment cures, a dispute reopens the term, the rest expire
BEGIN;
-- a payer pays every listed premium of the first confirmed notice
INSERT INTO cobranca.payment (invoice_id, paid_at, amount, method)
SELECT i.id, now(), i.balance, 'pix'
  FROM (SELECT invoice_ids FROM cobranca.default_notice WHERE status = 'confirmed' ORDER BY id LIMIT 1) n
  JOIN cobranca.invoice i ON i.id = ANY (n.invoice_ids)
 WHERE i.balance > 0;
-- another disputes one listed premium
INSERT INTO cobranca.dispute (invoice_id, opened_on, reason)
SELECT invoice_ids[1], current_date, 'Reajuste contestado'
  FROM cobranca.default_notice WHERE status = 'confirmed' ORDER BY id LIMIT 1;
SELECT cobranca.expire_notices(now() + interval '11 days') AS expired_in_11_days;
SELECT status, count(*) AS notices, count(*) FILTER (WHERE deadline_on IS NULL AND status = 'confirmed') AS awaiting_answer
  FROM cobranca.default_notice GROUP BY status ORDER BY status;
\echo -- what the guard would say on that day, per contract with a notice
SELECT k.condition, count(*) AS contracts, min(k.message) AS example
  FROM cobranca.default_notice n
  JOIN cobranca.contract c ON c.id = n.contract_id
 CROSS JOIN LATERAL cobranca.cancellation_check(c.id, 'default', current_date + 11) k
 WHERE n.status IN ('confirmed', 'unreachable', 'expired')
 GROUP BY k.condition
 ORDER BY count(*) DESC;
ROLLBACK;
