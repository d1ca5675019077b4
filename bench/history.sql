-- History for figure 7 of bench/run: what a collection database gains month
-- after month while its active portfolio stays the same size.  Added to a
-- portfolio loaded by bench/load.sql (the same payers, contracts and open
-- invoices), set-based:
--   - :history paid invoices, copies of the portfolio's invoices (same payer,
--     contract, kind, amount) due 4 to 35 months earlier (~2.7 years), each
--     with the payment that paid it in full: the source invoice's own delay
--     when it was paid, else one drawn as the sample's payers pay (most a
--     few days early, a fifth up to 9 days late, a tenth later);
--   - the contacts the shipped cadence made for them: every step (reminders
--     and overdue steps) that fell before the payment, on a channel the payer
--     has and did not refuse, folded per payer, channel and day as
--     generate_contacts folds them; delivered (phone: done), all before
--     :as_of (in monthly partitions where contact is partitioned);
--   - the audit rows those writes made (invoice insert, payment insert and
--     the invoice's update to paid, contact insert, claim and delivery), at
--     their own times, in monthly partitions of audit_log; bench/run seals
--     them afterwards.
-- Consistent by construction: balance 0 = amount - payments, status paid,
-- paid_on = last_payment_on = the payment's local day; so the triggers (the
-- bookkeeping, the audit capture, the foreign-key checks) are off while the
-- rows are written (session_replication_role = replica), and the secondary
-- indexes of invoice and payment are dropped and built again at the end, as
-- bench/load.sql does.
--
--   psql -v history=N -v as_of=2026-03-09 -f bench/history.sql
\set ON_ERROR_STOP 1
\set QUIET 1
SET work_mem = '256MB';

-- the invoices of the history, with ids after the portfolio's
CREATE TEMP TABLE h_inv AS
WITH src AS (
  SELECT i.*, p.method AS src_method,
         row_number() OVER (ORDER BY i.id) AS rn, count(*) OVER () AS n
    FROM cobranca.invoice i
    LEFT JOIN LATERAL (SELECT p.method FROM cobranca.payment p WHERE p.invoice_id = i.id
                        ORDER BY p.id LIMIT 1) p ON true
), copies AS (
  -- copy k of every invoice lies k-1 bands of 11 months further back
  SELECT s.*, k,
         4 + (k - 1) * 11 + ((hashint8(s.id * 37 + k) & 1023) % 11)::integer AS back,
         hashint8(s.id * 41 + k) & 1023 AS draw,
         hashint8(s.id * 43 + k) & 1023 AS draw2
    FROM src s
   CROSS JOIN generate_series(1, (SELECT ceil(:history::numeric / count(*))::integer FROM cobranca.invoice)) k
   WHERE (k - 1) * s.n + s.rn <= :history
), dated AS (
  SELECT c.*,
         (c.due_on - make_interval(months => c.back))::date AS h_due,
         (c.issued_on - make_interval(months => c.back))::date AS h_issued,
         CASE WHEN c.status = 'paid' THEN c.paid_on - c.due_on
              WHEN c.draw < 717 THEN -4 + (c.draw2 % 4)::integer
              WHEN c.draw < 922 THEN (c.draw2 % 10)::integer
              WHEN c.draw < 993 THEN 10 + (c.draw2 % 30)::integer
              ELSE 40 + (c.draw2 % 80)::integer END AS delay
    FROM copies c
)
SELECT (SELECT max(id) FROM cobranca.invoice) + row_number() OVER (ORDER BY h_due, id, k) AS id,
       d.creditor_id, d.portfolio_id, d.payer_id, d.contract_id,
       'H' || d.k || '-' || d.external_id AS external_id, d.kind,
       (d.competence - make_interval(months => d.back))::date AS competence,
       d.h_issued AS issued_on, d.h_due AS due_on, d.amount,
       GREATEST(LEAST(d.h_due + d.delay, date :'as_of' - 1), d.h_issued) AS paid_on,
       coalesce(d.src_method, (ARRAY['pix','boleto','card','transfer'])[1 + (d.draw2 % 4)::integer]) AS method,
       (d.draw2 % 480)::integer AS minute
  FROM dated d;

-- the payer's time zone and channels, once
CREATE TEMP TABLE h_payer AS
SELECT id, timezone, opt_out, email IS NOT NULL AS has_email, phone IS NOT NULL AS has_phone,
       whatsapp IS NOT NULL AS has_whatsapp, address IS NOT NULL AS has_letter
  FROM cobranca.payer WHERE id IN (SELECT DISTINCT payer_id FROM h_inv);
ALTER TABLE h_payer ADD PRIMARY KEY (id);

-- the contacts: every step of the cadence that fell before the payment
CREATE TEMP TABLE h_contact AS
WITH rules AS (
  SELECT c.id AS creditor_id, r.id AS rule_id, r.channel, r.offset_days, r.invoice_kinds,
         dense_rank() OVER (PARTITION BY c.id, r.channel ORDER BY r.offset_days) AS step
    FROM cobranca.creditor c
    JOIN cobranca.cadence_rule r
      ON r.active
     AND (r.creditor_id = c.id
          OR (r.creditor_id IS NULL
              AND NOT EXISTS (SELECT 1 FROM cobranca.cadence_rule o
                               WHERE o.creditor_id = c.id AND o.active)))
), steps AS (
  SELECT i.id AS invoice_id, i.creditor_id, i.portfolio_id, i.payer_id, r.rule_id, r.channel,
         r.offset_days, r.step, i.due_on + r.offset_days AS contact_on, p.timezone
    FROM h_inv i
    JOIN rules r ON r.creditor_id = i.creditor_id AND i.kind = ANY (r.invoice_kinds)
    JOIN h_payer p ON p.id = i.payer_id
   WHERE i.due_on + r.offset_days < i.paid_on
     AND i.due_on + r.offset_days < date :'as_of'
     AND NOT (r.channel = ANY (p.opt_out))
     AND CASE r.channel WHEN 'email' THEN p.has_email WHEN 'sms' THEN p.has_phone
                        WHEN 'whatsapp' THEN p.has_whatsapp WHEN 'phone' THEN p.has_phone
                        ELSE p.has_letter END
)
SELECT min(creditor_id) AS creditor_id, min(portfolio_id) AS portfolio_id, payer_id,
       array_agg(invoice_id ORDER BY invoice_id) AS invoice_ids,
       (array_agg(rule_id ORDER BY offset_days DESC, rule_id))[1] AS rule_id,
       channel, contact_on, least(max(step), 5)::integer AS attempt,
       ((contact_on + CASE channel WHEN 'phone' THEN time '10:00' ELSE time '09:00' END) AT TIME ZONE min(timezone)) AS scheduled_at
  FROM steps
 GROUP BY payer_id, channel, contact_on;

SELECT count(*) AS invoices, min(due_on) AS first_due, max(due_on) AS last_due FROM h_inv \gset h_
SELECT count(*) AS contacts FROM h_contact \gset h_

-- where contact is partitioned by month (doc/partitioning.md), the months of
-- the history get their partitions first, as the partition job would have
-- made them
SELECT count(*) FROM (
  SELECT cobranca.create_partition('cobranca.contact', m::date)
    FROM generate_series(date_trunc('month', (SELECT min(contact_on) FROM h_contact)),
                         date_trunc('month', (SELECT max(contact_on) FROM h_contact)), interval '1 month') m
   WHERE (SELECT relkind FROM pg_class WHERE oid = 'cobranca.contact'::regclass) = 'p') x \gset

BEGIN;
SET LOCAL session_replication_role = replica;
-- secondary indexes: built once at the end
CREATE TEMP TABLE h_idx ON COMMIT DROP AS
SELECT indexrelid::regclass AS idx, pg_get_indexdef(indexrelid) AS def
  FROM pg_index
 WHERE indrelid IN ('cobranca.invoice'::regclass, 'cobranca.payment'::regclass, 'cobranca.contact'::regclass)
   AND NOT indisunique;
SELECT format('DROP INDEX %s', idx) FROM h_idx \gexec

INSERT INTO cobranca.invoice (id, creditor_id, portfolio_id, payer_id, contract_id, external_id, kind,
                              competence, issued_on, due_on, amount, paid_total, balance, credit, status,
                              open_disputes, last_payment_on, paid_on, created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT i.id, i.creditor_id, i.portfolio_id, i.payer_id, i.contract_id, i.external_id, i.kind,
       i.competence, i.issued_on, i.due_on, i.amount, i.amount, 0, 0, 'paid',
       0, i.paid_on, i.paid_on,
       (i.issued_on + time '08:00') AT TIME ZONE p.timezone,
       (i.paid_on + time '10:00' + make_interval(mins => i.minute)) AT TIME ZONE p.timezone
  FROM h_inv i JOIN h_payer p ON p.id = i.payer_id
 ORDER BY i.id;
SELECT setval(pg_get_serial_sequence('cobranca.invoice', 'id'), (SELECT max(id) FROM cobranca.invoice));

INSERT INTO cobranca.payment (creditor_id, invoice_id, external_id, paid_at, amount, method, created_at)
SELECT i.creditor_id, i.id, 'PG-' || i.external_id,
       (i.paid_on + time '10:00' + make_interval(mins => i.minute)) AT TIME ZONE p.timezone,
       i.amount, i.method,
       (i.paid_on + time '10:00' + make_interval(mins => i.minute)) AT TIME ZONE p.timezone
  FROM h_inv i JOIN h_payer p ON p.id = i.payer_id
 ORDER BY 4, i.id;

INSERT INTO cobranca.contact (creditor_id, portfolio_id, payer_id, invoice_ids, rule_id, channel,
                              contact_on, scheduled_at, status, outcome, protocol, attempt, message,
                              claimed_at, created_at, updated_at)
SELECT c.creditor_id, c.portfolio_id, c.payer_id, c.invoice_ids, c.rule_id, c.channel,
       c.contact_on, c.scheduled_at,
       CASE c.channel WHEN 'phone' THEN 'done' ELSE 'delivered' END,
       CASE c.channel WHEN 'phone' THEN 'promessa de pagamento' ELSE 'entregue' END,
       CASE c.channel WHEN 'phone' THEN lpad(c.creditor_id::text, 6, '0') || to_char(c.contact_on, 'YYYYMMDD')
                                        || lpad((c.payer_id % 1000000)::text, 6, '0') END,
       c.attempt,
       CASE WHEN c.channel <> 'phone' THEN
         format('Olá! Consta em aberto %s fatura(s) com vencimento em %s. Pague por PIX ou boleto em https://pagar.example.com.br/%s',
                cardinality(c.invoice_ids), to_char(c.contact_on, 'DD/MM/YYYY'), c.payer_id) END,
       c.scheduled_at, c.scheduled_at - interval '3 hours', c.scheduled_at + interval '5 minutes'
  FROM h_contact c
 ORDER BY c.contact_on, c.payer_id, c.channel;
SELECT format('%s', def) FROM h_idx \gexec
COMMIT;

-- the audit rows of those writes, in monthly partitions of their own
SELECT count(*) FROM (
  SELECT cobranca.create_partition('cobranca.audit_log', m::date)
    FROM generate_series(date_trunc('month', (SELECT min(issued_on) FROM h_inv) - 1),
                         date_trunc('month', date :'as_of'), interval '1 month') m) x \gset
BEGIN;
INSERT INTO cobranca.audit_log (logged_at, application_name, table_name, operation, row_id, creditor_id, old_values, new_values)
SELECT t, 'erp', tab, op, row_id, creditor_id, old_values, new_values
  FROM (
    SELECT i.created_at AS t, 'invoice' AS tab, 'INSERT' AS op, i.id AS row_id, i.creditor_id,
           NULL::jsonb AS old_values,
           to_jsonb(i) || jsonb_build_object('paid_total', 0, 'balance', i.amount, 'status', 'open',
                                             'last_payment_on', NULL, 'paid_on', NULL, 'updated_at', i.created_at) AS new_values
      FROM cobranca.invoice i WHERE i.id >= (SELECT min(id) FROM h_inv)
    UNION ALL
    SELECT p.paid_at, 'payment', 'INSERT', p.id, p.creditor_id, NULL, to_jsonb(p)
      FROM cobranca.payment p WHERE p.invoice_id >= (SELECT min(id) FROM h_inv)
    UNION ALL
    SELECT i.updated_at, 'invoice', 'UPDATE', i.id, i.creditor_id,
           jsonb_build_object('paid_total', 0, 'balance', i.amount, 'status', 'open',
                              'last_payment_on', NULL, 'paid_on', NULL, 'updated_at', i.created_at),
           jsonb_build_object('paid_total', i.paid_total, 'balance', i.balance, 'status', i.status,
                              'last_payment_on', i.last_payment_on, 'paid_on', i.paid_on, 'updated_at', i.updated_at)
      FROM cobranca.invoice i WHERE i.id >= (SELECT min(id) FROM h_inv)
    UNION ALL
    SELECT k.created_at, 'contact', 'INSERT', k.id, k.creditor_id, NULL,
           to_jsonb(k) || jsonb_build_object('status', 'scheduled', 'outcome', NULL, 'protocol', NULL,
                                             'message', NULL, 'claimed_at', NULL, 'updated_at', k.created_at)
      FROM cobranca.contact k WHERE k.contact_on < date :'as_of'
    UNION ALL
    SELECT k.claimed_at, 'contact', 'UPDATE', k.id, k.creditor_id,
           jsonb_build_object('message', NULL, 'claimed_at', NULL, 'updated_at', k.created_at),
           jsonb_build_object('message', k.message, 'claimed_at', k.claimed_at, 'updated_at', k.claimed_at)
      FROM cobranca.contact k WHERE k.contact_on < date :'as_of'
    UNION ALL
    SELECT k.updated_at, 'contact', 'UPDATE', k.id, k.creditor_id,
           jsonb_build_object('status', 'scheduled', 'outcome', NULL, 'protocol', NULL, 'updated_at', k.claimed_at),
           jsonb_build_object('status', k.status, 'outcome', k.outcome, 'protocol', k.protocol, 'updated_at', k.updated_at)
      FROM cobranca.contact k WHERE k.contact_on < date :'as_of') a;
COMMIT;

VACUUM ANALYZE;
SELECT :h_invoices AS invoices, :'h_first_due' AS first_due, :'h_last_due' AS last_due, :h_contacts AS contacts;
