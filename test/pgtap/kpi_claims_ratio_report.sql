-- cobranca.claims_ratio_report: rolling 12 months per contract, by hand.
-- K1 pays a premium of 1000.00 a month from 2024-06 to 2025-05 (June's
-- payment lands on 2024-06-30 23:00 in São Paulo, 2024-07-01 UTC); claims
-- 300.00 (2024-06), 1500.00 (2024-12), 200.00 (2025-01), 4000.00 (2025-05).
-- A copay payment is not a premium.  K2 has a claim and no premium.
BEGIN;
SELECT plan(16);

SET LOCAL session_replication_role = replica;
INSERT INTO cobranca.creditor (name, document, kind, ans_registry, claims_break_even_pct)
VALUES ('Operadora Sinistro', '60574652000161', 'health_plan', '654321', 50.00);
INSERT INTO cobranca.portfolio (creditor_id, name)
SELECT id, 'PF' FROM cobranca.creditor WHERE document = '60574652000161';
INSERT INTO cobranca.payer (creditor_id, portfolio_id, external_id, document, name)
SELECT p.creditor_id, p.id, v.ext, v.doc, v.ext
  FROM cobranca.portfolio p, (VALUES ('A', '52998224725'), ('B', '39053344705')) v(ext, doc)
 WHERE p.name = 'PF';
INSERT INTO cobranca.contract (creditor_id, portfolio_id, payer_id, external_id, number, plan_name,
                               plan_type, starts_on)
SELECT y.creditor_id, y.portfolio_id, y.id, 'K' || y.external_id, 'N-' || y.external_id, 'Plano',
       'individual', '2024-06-01'
  FROM cobranca.payer y WHERE y.external_id IN ('A', 'B');
UPDATE cobranca.contract SET external_id = 'K1' WHERE external_id = 'KA';
UPDATE cobranca.contract SET external_id = 'K2' WHERE external_id = 'KB';

INSERT INTO cobranca.invoice (creditor_id, portfolio_id, payer_id, contract_id, external_id, kind,
                              competence, issued_on, due_on, amount, status, paid_on)
SELECT k.creditor_id, k.portfolio_id, k.payer_id, k.id, 'M' || to_char(m, 'YYYYMM'), 'premium',
       m::date, m::date, m::date + 9, 1000.00, 'paid', m::date + 9
  FROM cobranca.contract k, generate_series('2024-06-01'::timestamp, '2025-05-01', '1 month') m
 WHERE k.external_id = 'K1';
INSERT INTO cobranca.invoice (creditor_id, portfolio_id, payer_id, contract_id, external_id, kind,
                              issued_on, due_on, amount, status, paid_on)
SELECT k.creditor_id, k.portfolio_id, k.payer_id, k.id, 'COPAY', 'copay',
       '2024-12-01', '2024-12-10', 999.00, 'paid', '2024-12-10'
  FROM cobranca.contract k WHERE k.external_id = 'K1';
INSERT INTO cobranca.payment (creditor_id, invoice_id, external_id, paid_at, amount, method)
SELECT i.creditor_id, i.id, 'p' || i.external_id,
       CASE WHEN i.external_id = 'M202406' THEN '2024-07-01 02:00+00'::timestamptz
            ELSE (i.due_on + time '12:00') AT TIME ZONE 'America/Sao_Paulo' END,
       i.amount, 'boleto'
  FROM cobranca.invoice i JOIN cobranca.contract k ON k.id = i.contract_id
 WHERE k.external_id = 'K1';
INSERT INTO cobranca.claim (creditor_id, contract_id, external_id, occurred_on, amount, category)
SELECT k.creditor_id, k.id, v.ext, v.day::date, v.amount, 'exam'
  FROM (VALUES ('K1', 'c1', '2024-06-15', 300.00), ('K1', 'c2', '2024-12-03', 1500.00),
               ('K1', 'c3', '2025-01-31', 200.00), ('K1', 'c4', '2025-05-20', 4000.00),
               ('K2', 'c5', '2024-12-01', 100.00)) v(contract, ext, day, amount)
  JOIN cobranca.contract k ON k.external_id = v.contract;
RESET session_replication_role;

CREATE TEMP TABLE r ON COMMIT DROP AS
  SELECT r.* FROM cobranca.claims_ratio_report r JOIN cobranca.contract k ON k.id = r.contract_id
   WHERE k.external_id IN ('K1', 'K2');

SELECT results_eq(
  $$SELECT month, claims_12m, premiums_12m, claims_ratio_pct, months_in_window, above_break_even
      FROM r WHERE contract_number = 'N-A'
       AND month IN ('2024-06-01', '2024-12-01', '2025-01-01', '2025-05-01', '2025-06-01', '2026-04-01')
     ORDER BY month$$,
  $$VALUES ('2024-06-01'::date, 300.00::numeric, 1000.00::numeric, 30.00::numeric, 1, false),
           ('2024-12-01', 1800.00, 7000.00, 25.71, 7, false),
           ('2025-01-01', 2000.00, 8000.00, 25.00, 8, false),
           ('2025-05-01', 6000.00, 12000.00, 50.00, 12, false),
           ('2025-06-01', 5700.00, 11000.00, 51.82, 12, true),
           ('2026-04-01', 4000.00, 1000.00, 400.00, 12, true)$$,
  'K1: rolling 12 months across the year boundary, flagged above the creditor''s 50%');
SELECT is((SELECT premiums_month FROM r WHERE contract_number = 'N-A' AND month = '2024-06-01'),
          1000.00, 'a payment at 23:00 on June 30 in São Paulo is June''s');
SELECT is((SELECT premiums_month FROM r WHERE contract_number = 'N-A' AND month = '2024-12-01'),
          1000.00, 'copay payments are not premiums');
SELECT is((SELECT claims_month FROM r WHERE contract_number = 'N-A' AND month = '2025-01-01'),
          200.00, 'claim of the month');
SELECT is((SELECT count(*) FROM r WHERE contract_number = 'N-A'), 23::bigint,
          'K1: one row a month from 2024-06 until its window empties (2026-04)');
SELECT is((SELECT min(month) FROM r WHERE contract_number = 'N-A'), '2024-06-01'::date, 'K1 starts at its first activity');
SELECT is((SELECT max(month) FROM r WHERE contract_number = 'N-A'), '2026-04-01'::date, 'K1 ends 11 months after its last');
SELECT is((SELECT claims_ratio_pct FROM r WHERE contract_number = 'N-B' AND month = '2024-12-01'),
          NULL::numeric, 'K2: no premium received, ratio NULL');
SELECT is((SELECT above_break_even FROM r WHERE contract_number = 'N-B' AND month = '2024-12-01'),
          false, 'K2: a NULL ratio is not flagged');
SELECT is((SELECT claims_12m FROM r WHERE contract_number = 'N-B' AND month = '2025-03-01'),
          100.00, 'K2: claims carried through the window');
SELECT is((SELECT break_even_pct FROM r LIMIT 1), 50.00, 'break-even from the creditor');
SELECT ok((SELECT bool_and(r.claims_ratio_pct IS NOT DISTINCT FROM
                           round(r.claims_12m * 100 / NULLIF(r.premiums_12m, 0), 2)) FROM r),
          'every row: ratio = claims_12m / premiums_12m');
SELECT ok((SELECT bool_and(portfolio_id IS NOT NULL AND creditor_id IS NOT NULL) FROM r),
          'rows carry creditor and portfolio');

-- claims are read with the view owner's rights and filtered by the view
-- itself (see kpi_rls.sql): no caller's function may see a row before that
SELECT ok((SELECT 'security_barrier=true' = ANY (reloptions) FROM pg_class
            WHERE oid = 'cobranca.claims_ratio_report'::regclass), 'claims_ratio_report is security_barrier');
SELECT ok((SELECT 'security_barrier=true' = ANY (reloptions) FROM pg_class
            WHERE oid = 'cobranca.claims_premiums_monthly'::regclass), 'claims_premiums_monthly is security_barrier');
SELECT is((SELECT count(*) FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = 'cobranca.claims_ratio_report'::regclass AND a.attnum > 0
              AND pg_catalog.col_description(a.attrelid, a.attnum) IS NULL), 0::bigint,
          'every claims_ratio_report column has a comment');

SELECT * FROM finish();
ROLLBACK;
