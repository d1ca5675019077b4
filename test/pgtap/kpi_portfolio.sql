-- Portfolio KPIs on a small fixed portfolio, every figure computed by hand.
-- As of 2026-03-31 with a 30-day window: the window is 2026-03-02..03-31,
-- its start (S) is 2026-03-01.  Creditor time zone America/Sao_Paulo.
BEGIN;
SELECT plan(48);

-- The fixture gives every column explicitly (balances, statuses, paid_on,
-- notice deadlines, contract status changes), so it is loaded with
-- triggers off: the figures below depend on these rows only.
SET LOCAL session_replication_role = replica;

INSERT INTO cobranca.creditor (name, document, kind, ans_registry, timezone)
VALUES ('Operadora KPI', '11222333000181', 'health_plan', '123456', 'America/Sao_Paulo');
INSERT INTO cobranca.portfolio (creditor_id, name)
SELECT id, n FROM cobranca.creditor, (VALUES ('P1'), ('P2')) v(n) WHERE document = '11222333000181';
INSERT INTO cobranca.payer (creditor_id, portfolio_id, external_id, document, name)
SELECT c.id, p.id, v.ext, v.doc, v.ext
  FROM cobranca.creditor c
  JOIN cobranca.portfolio p ON p.creditor_id = c.id
  JOIN (VALUES ('A', '14538220620', 'P1'), ('B', '12345678909', 'P1'), ('C', '98765432100', 'P2'))
       v(ext, doc, port) ON p.name = v.port
 WHERE c.document = '11222333000181';
INSERT INTO cobranca.contract (creditor_id, portfolio_id, payer_id, external_id, number, plan_name,
                               plan_type, starts_on, status, status_reason, status_changed_at)
SELECT y.creditor_id, y.portfolio_id, y.id, v.ext, v.ext, 'Plano', 'individual', v.starts::date,
       v.st, v.why, v.changed::timestamptz
  FROM (VALUES
    -- active at the start of the window: K1, K2, K3, K4, K7 (5); cancelled for default in it: K3
    ('K1', 'A', '2025-01-01', 'active',    NULL,      NULL),
    ('K2', 'B', '2025-01-01', 'active',    NULL,      NULL),
    ('K3', 'A', '2025-01-01', 'cancelled', 'default', '2026-03-15 10:00-03'),
    ('K4', 'B', '2025-06-01', 'cancelled', 'request', '2026-03-10 10:00-03'),
    ('K5', 'A', '2025-01-01', 'cancelled', 'default', '2026-02-10 10:00-03'),
    ('K6', 'B', '2026-03-10', 'active',    NULL,      NULL),
    ('K7', 'A', '2025-01-01', 'suspended', 'default', '2026-03-20 10:00-03'),
    -- cancelled for default at 2026-03-01 00:30 in São Paulo (03:30 UTC): on S, not in the window
    ('K8', 'B', '2025-01-01', 'cancelled', 'default', '2026-03-01 03:30+00'))
    v(ext, payer, starts, st, why, changed)
  JOIN cobranca.payer y ON y.external_id = v.payer;

INSERT INTO cobranca.invoice (creditor_id, portfolio_id, payer_id, contract_id, external_id, kind,
                              competence, issued_on, due_on, amount, status, agreement_id, paid_on)
SELECT y.creditor_id, y.portfolio_id, y.id, k.id, v.ext, v.kind,
       CASE WHEN v.kind = 'premium' THEN date_trunc('month', v.due::date)::date END,
       v.issued::date, v.due::date, v.amount, v.st, v.agr::bigint, v.paid_on::date
  FROM (VALUES
    ('I1',  'A', 'K1', 'premium',     '2026-03-20', '2026-04-10',  100.00, 'open',         NULL, NULL),
    ('I2',  'A', 'K1', 'premium',     '2026-02-20', '2026-03-10',  200.00, 'open',         NULL, NULL),
    ('I3',  'B', 'K2', 'premium',     '2026-01-10', '2026-01-20',  300.00, 'open',         NULL, NULL),
    ('I4',  'B', 'K2', 'premium',     '2025-12-01', '2025-12-10',  400.00, 'paid',         NULL, '2026-03-05'),
    ('I5',  'A', NULL, 'private',     '2025-08-01', '2025-08-31',  500.00, 'open',         NULL, NULL),
    ('I6',  'B', NULL, 'copay',       '2025-11-01', '2025-11-20',  600.00, 'disputed',     NULL, NULL),
    ('I7',  'A', 'K1', 'premium',     '2026-02-01', '2026-02-15',  700.00, 'open',         NULL, NULL),
    ('I8',  'B', 'K2', 'premium',     '2025-10-01', '2025-10-10',  800.00, 'open',         NULL, NULL),
    ('I9',  'A', 'K1', 'premium',     '2026-03-01', '2026-03-05',  900.00, 'cancelled',    NULL, NULL),
    ('I10', 'B', 'K2', 'premium',     '2025-09-01', '2025-09-10', 1000.00, 'in_agreement', NULL, NULL),
    ('I11', 'B', NULL, 'installment', '2026-03-10', '2026-03-25',  110.00, 'open',         NULL, NULL),
    ('I12', 'A', 'K1', 'premium',     '2026-01-01', '2026-01-10',  120.00, 'paid',         NULL, '2026-01-08'),
    ('I13', 'A', 'K1', 'premium',     '2026-04-05', '2026-04-20',  130.00, 'open',         NULL, NULL),
    ('I14', 'A', NULL, 'copay',       '2026-03-02', '2026-03-12',   50.00, 'paid',         NULL, '2026-03-12'),
    ('J1',  'C', NULL, 'private',     '2026-03-01', '2026-03-21', 1000.00, 'open',         NULL, NULL))
    v(ext, payer, contract, kind, issued, due, amount, st, agr, paid_on)
  JOIN cobranca.payer y ON y.external_id = v.payer
  LEFT JOIN cobranca.contract k ON k.external_id = v.contract;

INSERT INTO cobranca.payment (creditor_id, invoice_id, external_id, paid_at, amount, method)
SELECT i.creditor_id, i.id, v.ext, v.at::timestamptz, v.amount, 'pix'
  FROM (VALUES
    ('p1', 'I1',  '2026-03-25 10:00-03',  30.00),  -- before due: not recovered
    ('p2', 'I2',  '2026-03-15 10:00-03',  50.00),  -- late, in the window
    ('p3', 'I3',  '2026-04-02 10:00-03', 300.00),  -- after as_of: ignored
    ('p4', 'I4',  '2026-03-05 10:00-03', 400.00),  -- late, settles I4
    ('p5', 'I5',  '2026-03-01 12:00-03',  50.00),  -- on S: before the window
    ('p6', 'I5',  '2026-03-20 10:00-03', 100.00),  -- late, in the window
    ('p7', 'I8',  '2026-04-01 01:00+00',  80.00),  -- 2026-03-31 22:00 in São Paulo: in the window
    ('p8', 'I12', '2026-01-08 10:00-03', 120.00),
    ('p9', 'I14', '2026-03-12 10:00-03',  50.00))  -- on the due date: not late
    v(ext, inv, at, amount)
  JOIN cobranca.invoice i ON i.external_id = v.inv;

INSERT INTO cobranca.dispute (creditor_id, invoice_id, external_id, opened_on, reason, answered_on, outcome)
SELECT i.creditor_id, i.id, v.ext, v.opened::date, 'glosa', v.answered::date, v.outcome
  FROM (VALUES ('d6', 'I6', '2026-02-01', NULL, NULL),                 -- open: disputed at S and at as_of
               ('d7', 'I7', '2026-02-20', '2026-03-05', 'rejected'))   -- disputed at S only
       v(ext, inv, opened, answered, outcome)
  JOIN cobranca.invoice i ON i.external_id = v.inv;

-- agreements: accepted on 03-10 and on 03-31 22:00 local time (04-01 UTC)
-- count; one only proposed and one accepted in February do not
INSERT INTO cobranca.agreement (creditor_id, portfolio_id, payer_id, invoice_ids, tier, as_of, principal,
                                debt_total, discount_pct, total, installments, first_due, needs_approval,
                                status, proposed_by, proposed_at, accepted_by, accepted_at, evidence)
SELECT y.creditor_id, y.portfolio_id, y.id,
       ARRAY(SELECT i.id FROM cobranca.invoice i WHERE i.external_id = v.inv),
       'bronze', v.proposed::date, 1000.00, 1000.00, 0, 1000.00, 2, v.proposed::date + 5, false,
       v.st, 'analista', v.proposed::timestamptz, CASE WHEN v.accepted IS NOT NULL THEN 'analista' END,
       v.accepted::timestamptz, CASE WHEN v.accepted IS NOT NULL THEN '{"channel": "phone"}'::jsonb END
  FROM (VALUES ('B', 'I10', 'active',    '2026-03-09', '2026-03-10 15:00-03'),
               ('A', 'I5',  'completed', '2026-03-30', '2026-04-01 01:00+00'),
               ('A', 'I2',  'proposed',  '2026-03-20', NULL),
               ('B', 'I3',  'broken',    '2026-02-15', '2026-02-20 10:00-03'))
       v(payer, inv, st, proposed, accepted)
  JOIN cobranca.payer y ON y.external_id = v.payer;
UPDATE cobranca.invoice i SET agreement_id = a.id
  FROM cobranca.agreement a
 WHERE i.external_id = 'I10' AND a.invoice_ids = ARRAY[i.id];

INSERT INTO cobranca.channel_cost (creditor_id, channel, cost)
SELECT id, 'sms', 0.1000 FROM cobranca.creditor WHERE document = '11222333000181';

INSERT INTO cobranca.contact (creditor_id, portfolio_id, payer_id, invoice_ids, channel, contact_on,
                              scheduled_at, status)
SELECT y.creditor_id, y.portfolio_id, y.id,
       ARRAY(SELECT i.id FROM cobranca.invoice i WHERE i.external_id = ANY (v.invs) ORDER BY i.id),
       v.channel, v.day::date, v.day::date + time '10:00', v.st
  FROM (VALUES
    ('A', 'email',    '2026-03-05', 'read',      '{I5}'::text[]),      -- attempted, effective
    ('A', 'sms',      '2026-03-05', 'failed',    '{I5}'),      -- attempted
    ('B', 'whatsapp', '2026-03-10', 'replied',   '{I10}'),     -- effective
    ('B', 'phone',    '2026-03-11', 'done',      '{I10,I3}'),  -- effective
    ('B', 'letter',   '2026-03-12', 'sent',      '{I3}'),      -- attempted
    ('A', 'email',    '2026-03-20', 'scheduled', '{I2}'),      -- not attempted
    ('A', 'sms',      '2026-03-21', 'cancelled', '{I2}'),      -- not attempted
    ('B', 'email',    '2026-03-01', 'delivered', '{I3}'),      -- on S: outside the window
    ('A', 'whatsapp', '2026-03-25', 'delivered', '{I2}'))      -- effective
    v(payer, channel, day, st, invs)
  JOIN cobranca.payer y ON y.external_id = v.payer;

INSERT INTO cobranca.default_notice (creditor_id, portfolio_id, contract_id, invoice_ids, amount_due,
                                     default_since, drafted_on, status, body, confirmed_at,
                                     term_start_on, deadline_on, confirmed_by_day_50)
SELECT k.creditor_id, k.portfolio_id, k.id,
       ARRAY(SELECT i.id FROM cobranca.invoice i WHERE i.payer_id = k.payer_id ORDER BY i.id LIMIT 1),
       100.00, v.since::date, v.since::date + 35, v.st, 'notificação',
       (v.term::date + time '10:00') AT TIME ZONE 'America/Sao_Paulo',
       v.term::date, v.term::date + 10, v.by50
  FROM (VALUES  -- day 50 of the default is default_since + 50
    ('K2', '2026-01-20', 'confirmed',   '2026-02-23', true),   -- day 50 = 03-11, confirmed 02-23: in time
    ('K1', '2026-02-01', 'confirmed',   '2026-03-24', false),  -- day 50 = 03-23, confirmed 03-24: late
    ('K3', '2026-02-05', 'draft',       NULL,         NULL),   -- day 50 = 03-27, never confirmed
    ('K7', '2026-01-12', 'unreachable', '2026-02-28', true),   -- day 50 = 03-03, last attempt 02-28
    ('K4', '2026-01-25', 'void',        NULL,         NULL),   -- renegotiated: not counted
    ('K5', '2026-01-15', 'cured',       NULL,         NULL),   -- paid before confirmation: not counted
    ('K6', '2025-12-01', 'confirmed',   '2026-01-05', true))   -- day 50 = 2026-01-20: outside the window
    v(contract, since, st, term, by50)
  JOIN cobranca.contract k ON k.external_id = v.contract;

RESET session_replication_role;

CREATE TEMP TABLE k ON COMMIT DROP AS
  SELECT * FROM cobranca.kpi_portfolio_at('2026-03-31') WHERE portfolio_name = 'P1';
CREATE TEMP TABLE k2 ON COMMIT DROP AS
  SELECT * FROM cobranca.kpi_portfolio_at('2026-03-31') WHERE portfolio_name = 'P2';

SELECT is((SELECT count(*) FROM k), 1::bigint, 'one row for the portfolio');
SELECT is(as_of, '2026-03-31'::date, 'as_of') FROM k;
SELECT is(window_days, 30, 'default window of 30 days') FROM k;
-- balances at as_of: I1 70, I2 150, I3 300, I4 0, I5 350, I6 600 (disputed),
-- I7 700, I8 720, I11 110, I12 0, I14 0; I9 cancelled, I10 in agreement, I13 not issued yet
SELECT is(open_balance, 3000.00, 'open balance') FROM k;
SELECT is(disputed_balance, 600.00, 'disputed balance: I6') FROM k;
SELECT is(aging_to_fall_due, 70.00, 'to fall due: I1 100 - 30 paid before due') FROM k;
SELECT is(aging_1_30, 260.00, '1-30 days: I2 150 (21 days) + I11 110 (6 days)') FROM k;
SELECT is(aging_31_60, 700.00, '31-60 days: I7 (44 days; its dispute was answered on 03-05)') FROM k;
SELECT is(aging_61_90, 300.00, '61-90 days: I3 (70 days; paid only after as_of)') FROM k;
SELECT is(aging_91_180, 720.00, '91-180 days: I8 800 - 80 paid on 03-31 local time') FROM k;
SELECT is(aging_over_180, 350.00, 'over 180 days: I5 500 - 50 - 100') FROM k;
SELECT is(overdue_balance, 2330.00, 'overdue balance = sum of the buckets from 1 day') FROM k;
SELECT is(open_balance, disputed_balance + aging_to_fall_due + overdue_balance,
          'open = disputed + to fall due + overdue') FROM k;
-- recovery: overdue at S (not disputed then): I3 300 + I4 400 + I5 450 + I8 800 + I12 0
SELECT is(overdue_at_start, 1950.00, 'overdue at the start of the window') FROM k;
SELECT is(recovered_from_overdue, 580.00, 'recovered from it: I4 400 + I5 100 + I8 80') FROM k;
SELECT is(recovery_rate_pct, 29.74, 'recovery rate 580 / 1950') FROM k;
SELECT is(recovered, 630.00, 'real recovered: late payments in the window (I2 50 + I4 400 + I5 100 + I8 80)') FROM k;
-- contacts in the window: attempted c1 c2 c3 c4 c5 c9, effective c1 c3 c4 c9
SELECT is(contacts_attempted, 6::bigint, 'contacts attempted') FROM k;
SELECT is(contacts_effective, 4::bigint, 'contacts effective') FROM k;
SELECT is(effective_contact_rate_pct, 66.67, 'effective-contact rate 4 / 6') FROM k;
SELECT is(agreements, 2::bigint, 'agreements accepted in the window (local days)') FROM k;
SELECT is(agreement_rate_pct, 50.00, 'agreement rate 2 / 4') FROM k;
-- settled in the window: I4 (2025-12-01 -> 2026-03-05, 94 days), I14 (10 days)
SELECT is(mean_days_to_receive, 52.0, 'mean days to receive (94 + 10) / 2') FROM k;
-- billed 2026-01-01..03-31: I1 100 + I2 200 + I3 300 + I7 700 + I12 120 + I14 50
SELECT is(billed_90d, 1470.00, 'billed in 90 days (installments, cancelled excluded)') FROM k;
SELECT is(dso_days, 183.7, 'DSO 3000 / 1470 x 90') FROM k;
-- email 0.01 + sms 0.10 (creditor''s own) + whatsapp 0.35 + phone 1.50 + letter 13.90 + whatsapp 0.35
SELECT is(contact_cost, 16.21, 'contact cost, with the creditor''s own sms price') FROM k;
SELECT is(cost_per_real_recovered, 0.0257, 'cost per real recovered 16.21 / 630') FROM k;
SELECT is(notices_due_by_day50, 4::bigint, 'notices whose day 50 fell in the window') FROM k;
SELECT is(notices_confirmed_by_day50, 2::bigint, 'confirmed (or unreachable) by day 50') FROM k;
SELECT is(notices_confirmed_by_day50_pct, 50.00, 'notices confirmed by day 50: 2 / 4') FROM k;
SELECT is(contracts_active_at_start, 5::bigint, 'contracts active at the start') FROM k;
SELECT is(contracts_cancelled_default, 1::bigint, 'contracts cancelled for default in the window') FROM k;
SELECT is(churn_default_pct, 20.00, 'churn by default 1 / 5') FROM k;

-- the other portfolio has its own figures and empty rates
SELECT is(open_balance, 1000.00, 'P2: open balance') FROM k2;
SELECT is(aging_1_30, 1000.00, 'P2: 10 days overdue') FROM k2;
SELECT ok(recovery_rate_pct IS NULL AND effective_contact_rate_pct IS NULL
          AND cost_per_real_recovered IS NULL AND churn_default_pct IS NULL,
          'P2: rates without a denominator are NULL') FROM k2;

-- a longer window (from 2026-01-30) also takes K5 (02-10) and K8 (03-01 00:30 local)
SELECT is((SELECT contracts_cancelled_default FROM cobranca.kpi_portfolio_at('2026-03-31', 60)
            WHERE portfolio_name = 'P1'), 3::bigint, '60-day window: K3, K5 and K8 cancelled for default');
-- as of 2026-02-28: I2 200 + I3 300 + I4 400 + I5 500 + I6 600 + I7 700 + I8 800
-- (I12 was paid in January; I1, I11, I14 not issued yet)
SELECT is((SELECT open_balance FROM cobranca.kpi_portfolio_at('2026-02-28') WHERE portfolio_name = 'P1'),
          3500.00, 'as of 2026-02-28 the March payments are not in the balance');

-- the job stores the day''s snapshot and the view shows the latest one
SELECT is((SELECT function FROM cobranca.job WHERE name = 'refresh_kpis'),
          'cobranca.refresh_kpis(timestamptz)'::regprocedure, 'refresh_kpis is a job');
SELECT is((SELECT position FROM cobranca.job WHERE name = 'refresh_kpis'), 60, 'at position 60');
SELECT is(cobranca.refresh_kpis('2026-03-31 23:30-03'), 2::bigint, 'refresh stores one row per portfolio');
SELECT is(cobranca.refresh_kpis('2026-04-01 01:00+00'), 0::bigint,
          'a snapshot of the same local day younger than kpi_refresh_interval is kept');
SET LOCAL cobranca.kpi_refresh_interval = 0;
SELECT is(cobranca.refresh_kpis('2026-04-01 01:00+00'), 2::bigint,
          'with kpi_refresh_interval 0 a refresh of the same local day replaces it');
SELECT is((SELECT count(*) FROM cobranca.kpi_snapshot WHERE as_of = '2026-03-31'), 2::bigint,
          'no duplicate snapshot for the day');
SELECT results_eq(
  $$SELECT portfolio_name, as_of, open_balance, recovery_rate_pct, dso_days FROM cobranca.kpi_portfolio ORDER BY 1$$,
  $$VALUES ('P1'::text, '2026-03-31'::date, 3000.00::numeric(16,2), 29.74::numeric(7,2), 183.7::numeric(10,1)),
           ('P2', '2026-03-31', 1000.00, NULL, 90.0)$$,
  'kpi_portfolio shows the snapshot');
SELECT is(cobranca.refresh_kpis('2026-02-28 12:00-03'), 2::bigint, 'an older day is stored too');
SELECT is((SELECT as_of FROM cobranca.kpi_portfolio WHERE portfolio_name = 'P1'), '2026-03-31'::date,
          'kpi_portfolio keeps showing the latest day');

-- every column of the view is documented
SELECT is((SELECT count(*) FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = 'cobranca.kpi_portfolio'::regclass AND a.attnum > 0
              AND pg_catalog.col_description(a.attrelid, a.attnum) IS NULL), 0::bigint,
          'every kpi_portfolio column has a comment');

SELECT * FROM finish();
ROLLBACK;
