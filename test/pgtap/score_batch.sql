-- cobranca.score_invoices (C, one pass) gives exactly what the SQL
-- definitions give: score_features, the active model through
-- cobranca.logistic, invoice_charges and priority_value.
BEGIN;
SELECT plan(32);

-- a portfolio with every case the features and charges distinguish,
-- written directly (no bookkeeping triggers: states are set as they are)
SET LOCAL session_replication_role = replica;
INSERT INTO cobranca.creditor (name, document, kind, ans_registry, city, uf, fine_pct, interest_month_pct, notice_day)
  VALUES ('Operadora Lote', '11222333000181', 'health_plan', '400001', 'São Paulo', 'SP', 1.50, 0.80, 40),
         ('Clínica Lote', '60574652000161', 'clinic', NULL, 'Recife', 'PE', 2.00, 1.00, 35);
INSERT INTO cobranca.portfolio (creditor_id, name) SELECT id, 'lote ' || id FROM cobranca.creditor;
INSERT INTO cobranca.payer (creditor_id, portfolio_id, external_id, document, name)
  SELECT c.id, p.id, 'L' || g, '***.000.000-**', 'Pagador ' || g
    FROM generate_series(1, 100) g
    JOIN cobranca.creditor c ON c.document = CASE WHEN g % 3 = 0 THEN '60574652000161' ELSE '11222333000181' END
    JOIN cobranca.portfolio p ON p.creditor_id = c.id;
-- contracts of every type for most payers; some without one
INSERT INTO cobranca.contract (creditor_id, portfolio_id, payer_id, external_id, number, plan_name, plan_type,
                               paid_by_person, starts_on)
  SELECT creditor_id, portfolio_id, id, external_id, 'C' || id, 'Plano',
         (ARRAY['individual', 'family', 'collective_membership', 'collective_business'])[1 + id % 4],
         CASE id % 3 WHEN 0 THEN true WHEN 1 THEN false END, '2020-01-01'
    FROM cobranca.payer WHERE id % 7 <> 0;
-- ten invoices a payer over two years: all kinds and states, paid early,
-- late or never, one due on 29 February
INSERT INTO cobranca.invoice (creditor_id, portfolio_id, payer_id, contract_id, external_id, kind, competence,
                              issued_on, due_on, amount, paid_total, balance, status, paid_on, last_payment_on)
  SELECT p.creditor_id, p.portfolio_id, p.id, c.id, p.external_id || '-' || m,
         k.kind, CASE WHEN k.kind = 'premium' THEN date_trunc('month', d.due)::date END,
         d.due - 10, d.due, a.amount,
         CASE WHEN s.status = 'paid' THEN a.amount ELSE 0 END,
         CASE WHEN s.status IN ('open', 'disputed') THEN a.amount - (m % 3) * 10 ELSE 0 END,
         s.status,
         CASE WHEN s.status = 'paid' THEN d.due + ((p.id * m) % 50)::integer - 10 END,
         CASE WHEN s.status = 'paid' THEN d.due + ((p.id * m) % 50)::integer - 10 END
    FROM cobranca.payer p
    LEFT JOIN cobranca.contract c ON c.payer_id = p.id
    CROSS JOIN generate_series(1, 10) m
    CROSS JOIN LATERAL (SELECT CASE WHEN m = 10 AND p.id % 5 = 0 THEN date '2024-02-29'
                                    ELSE date '2024-09-15' + ((p.id * 37 + m * 61) % 500)::integer END AS due) d
    CROSS JOIN LATERAL (SELECT CASE WHEN c.id IS NULL AND (p.id + m) % 6 < 2 THEN 'private'
                                    ELSE (ARRAY['premium', 'premium', 'copay', 'private', 'disallowance',
                                                'installment'])[1 + (p.id + m) % 6] END AS kind) k
    -- amounts with cents (and whole ones): the stored numeric read to the cent
    CROSS JOIN LATERAL (SELECT (120 + (p.id * 7919 + m * 104729) % 2900
                                + CASE WHEN m % 4 = 0 THEN 0 ELSE ((p.id * 31 + m * 17) % 100) / 100.0 END
                                + CASE WHEN p.id % 17 = 0 THEN 10000 * (m % 3) ELSE 0 END)::numeric(14,2) AS amount) a
    CROSS JOIN LATERAL (SELECT (ARRAY['open', 'open', 'open', 'paid', 'paid', 'paid', 'cancelled',
                                      'disputed', 'written_off', 'open'])[1 + (p.id + 3 * m) % 10] AS status) s;
-- disputes: open, answered, overlapping, before and after the day
INSERT INTO cobranca.dispute (creditor_id, invoice_id, opened_on, answered_on, outcome, reason)
  SELECT i.creditor_id, i.id, i.due_on + 3 + k * 20,
         CASE WHEN (i.id + k) % 3 = 0 THEN NULL ELSE i.due_on + 3 + k * 20 + (i.id % 40)::integer END,
         CASE WHEN (i.id + k) % 3 = 0 THEN NULL ELSE 'rejected' END, 'teste'
    FROM cobranca.invoice i CROSS JOIN generate_series(0, 1) k
   WHERE i.id % 4 = 0 AND (k = 0 OR i.id % 8 = 0);
-- contacts: made, scheduled, cancelled, covering one or several invoices
INSERT INTO cobranca.contact (creditor_id, portfolio_id, payer_id, invoice_ids, channel, contact_on,
                              scheduled_at, status)
  SELECT i.creditor_id, i.portfolio_id, i.payer_id,
         CASE WHEN k = 2 THEN ARRAY[i.id, i.id + 1] ELSE ARRAY[i.id] END,
         (ARRAY['email', 'sms', 'phone'])[1 + k], i.due_on + 2 + 5 * k, (i.due_on + 2 + 5 * k) + time '10:00',
         (ARRAY['sent', 'scheduled', 'cancelled', 'read', 'done'])[1 + (i.id + k) % 5]
    FROM cobranca.invoice i CROSS JOIN generate_series(0, 2) k
   WHERE i.id % 3 <> 1;
-- two payers copied with ids far beyond the others (identities set by
-- hand), with their invoices, disputes and contacts: there the scoring's
-- arrays indexed by id give way to hash tables
CREATE TEMP TABLE far_map AS
  SELECT i.id AS old_id, 9000000000 + row_number() OVER (ORDER BY i.id) AS new_id,
         i.payer_id + 7000000000 AS new_payer
    FROM cobranca.invoice i
   WHERE i.payer_id IN (SELECT id FROM cobranca.payer ORDER BY id LIMIT 2);
INSERT INTO cobranca.payer (id, creditor_id, portfolio_id, external_id, document, name)
  OVERRIDING SYSTEM VALUE
  SELECT id + 7000000000, creditor_id, portfolio_id, external_id || '-far', document, name
    FROM cobranca.payer ORDER BY id LIMIT 2;
INSERT INTO cobranca.invoice (id, creditor_id, portfolio_id, payer_id, contract_id, external_id, kind, competence,
                              issued_on, due_on, amount, paid_total, balance, status, paid_on, last_payment_on)
  OVERRIDING SYSTEM VALUE
  SELECT m.new_id, i.creditor_id, i.portfolio_id, m.new_payer, i.contract_id, i.external_id || '-far', i.kind,
         i.competence, i.issued_on, i.due_on, i.amount, i.paid_total, i.balance, i.status, i.paid_on, i.last_payment_on
    FROM cobranca.invoice i JOIN far_map m ON m.old_id = i.id;
INSERT INTO cobranca.dispute (creditor_id, invoice_id, opened_on, answered_on, outcome, reason)
  SELECT d.creditor_id, m.new_id, d.opened_on, d.answered_on, d.outcome, d.reason
    FROM cobranca.dispute d JOIN far_map m ON m.old_id = d.invoice_id;
INSERT INTO cobranca.contact (creditor_id, portfolio_id, payer_id, invoice_ids, channel, contact_on,
                              scheduled_at, status)
  SELECT c.creditor_id, c.portfolio_id, c.payer_id + 7000000000,
         ARRAY(SELECT m.new_id FROM unnest(c.invoice_ids) x JOIN far_map m ON m.old_id = x),
         c.channel, c.contact_on, c.scheduled_at, c.status
    FROM cobranca.contact c
   WHERE c.payer_id IN (SELECT id FROM cobranca.payer WHERE id < 7000000000 ORDER BY id LIMIT 2)
     AND c.invoice_ids <@ ARRAY(SELECT old_id FROM far_map);
RESET session_replication_role;

-- the SQL definitions, as one statement
CREATE TEMP TABLE ref_sql AS SELECT $q$
  WITH m AS (SELECT id, coefficients FROM cobranca.score_model WHERE active),
  f AS (SELECT * FROM cobranca.score_features($1, array_fill($2, ARRAY[cardinality($1)])))
  SELECT i.id AS invoice_id, m.id AS model_id, cobranca.logistic(m.coefficients, f.x) AS probability,
         ch.total AS updated_amount,
         CASE WHEN i.status = 'open'
              THEN cobranca.priority_value(cobranca.logistic(m.coefficients, f.x), ch.total, i.due_on,
                     (i.due_on + interval '5 years')::date, $2,
                     i.kind = 'premium' AND coalesce(cobranca.rn593_subject(c.plan_type, c.paid_by_person), false),
                     cr.notice_day)
              ELSE 0 END AS priority
    FROM f
    JOIN cobranca.invoice i ON i.id = f.invoice_id
    JOIN cobranca.creditor cr ON cr.id = i.creditor_id
    LEFT JOIN cobranca.contract c ON c.id = i.contract_id
    CROSS JOIN LATERAL cobranca.invoice_charges(ARRAY[i.id], $2) ch
    CROSS JOIN m $q$ AS q;
CREATE FUNCTION pg_temp.ref(ids bigint[], d date)
  RETURNS TABLE (invoice_id bigint, model_id bigint, probability float8, updated_amount numeric, priority numeric)
  LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE (SELECT q FROM pg_temp.ref_sql) USING ids, d;
END $$;
-- rows of one side missing from the other (text keeps numeric scale and every float bit)
CREATE FUNCTION pg_temp.differences(ids bigint[], d date) RETURNS bigint
  LANGUAGE sql AS $$
  SELECT count(*) FROM (
    (SELECT r::text FROM pg_temp.ref(ids, d) r EXCEPT ALL
     SELECT s::text FROM cobranca.score_invoices(ids, d) s)
    UNION ALL
    (SELECT s::text FROM cobranca.score_invoices(ids, d) s EXCEPT ALL
     SELECT r::text FROM pg_temp.ref(ids, d) r)) x $$;
SET LOCAL extra_float_digits = 3;

CREATE TEMP TABLE all_ids AS SELECT array_agg(id ORDER BY id) AS ids FROM cobranca.invoice;

SELECT is((SELECT count(*) FROM all_ids, cobranca.score_invoices(ids, '2025-06-30')),
          (SELECT count(*) FROM cobranca.invoice), 'one row per invoice asked for');
SELECT is((SELECT pg_temp.differences(ids, '2025-06-30') FROM all_ids), 0::bigint,
          'every invoice on 2025-06-30: same probability, updated amount and priority as the SQL definitions');
SELECT is((SELECT pg_temp.differences(ids, '2026-02-10') FROM all_ids), 0::bigint,
          'the same on 2026-02-10');
SELECT is((SELECT pg_temp.differences(ids, '2024-10-01') FROM all_ids), 0::bigint,
          'the same on 2024-10-01 (most invoices not yet due)');
SELECT is((SELECT pg_temp.differences(ids, '2029-03-01') FROM all_ids), 0::bigint,
          'the same on 2029-03-01 (limitation near for the oldest)');
SELECT is((SELECT pg_temp.differences((SELECT array_agg(x) FROM unnest(ids) x WHERE x < 9000000000), '2025-06-30') FROM all_ids),
          0::bigint, 'the invoices of consecutive ids only (read through an array by id): the same');
SELECT is((SELECT count(*) FILTER (WHERE s.invoice_id IN (SELECT new_id FROM far_map))
             FROM all_ids, cobranca.score_invoices(ids, '2025-06-30') s),
          (SELECT count(*) FROM far_map),
          'the invoices of far ids are among those scored and compared above');
-- a call for many invoices but few of all: the payers' rows probed, not scanned
ANALYZE cobranca.invoice;
SELECT is((SELECT pg_temp.differences((SELECT array_agg(x) FROM unnest(ids) x WHERE x % 11 = 3), '2025-06-30') FROM all_ids),
          0::bigint, 'every eleventh invoice (between the small and the scanning calls): the same');
SELECT is((SELECT pg_temp.differences(ids[10:30] || ids[10:12] || ARRAY[NULL, -1]::bigint[], '2025-06-30') FROM all_ids),
          0::bigint, 'duplicate, null and unknown ids behave the same');
SELECT is((SELECT count(*) FROM all_ids, cobranca.score_invoices(ids[10:30] || ids[10:12] || ARRAY[NULL, -1]::bigint[], '2025-06-30')),
          24::bigint, 'a duplicate id gives two rows, an unknown one none');
SELECT is((SELECT count(*) FROM cobranca.invoice i, cobranca.score_invoices(ARRAY[i.id], '2025-06-30') s
            WHERE (s.*)::text IS DISTINCT FROM (SELECT r::text FROM pg_temp.ref(ARRAY[i.id], '2025-06-30') r)),
          0::bigint, 'one invoice at a time: the same');
SELECT ok((SELECT count(*) FILTER (WHERE priority > 0) > 0 AND count(DISTINCT probability) > 100
             FROM all_ids, cobranca.score_invoices(ids, '2025-06-30')),
          'the fixture exercises varied probabilities and priorities');

-- payment_probability(id) and priority(id): C from index probes of the
-- payer's rows, kept while the caller sees the same data
CREATE FUNCTION pg_temp.single(id bigint, d date) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT coalesce(cobranca.payment_probability(id, d)::text, 'null') || ' '
         || coalesce(cobranca.priority(id, d)::text, 'null') $$;
CREATE FUNCTION pg_temp.reference(id bigint, d date) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce((SELECT r.probability::text || ' ' || r.priority::text
                     FROM pg_temp.ref(ARRAY[id], d) r), 'null null') $$;
SELECT is((SELECT count(*) FROM cobranca.invoice i
            WHERE pg_temp.single(i.id, '2025-06-30') IS DISTINCT FROM pg_temp.reference(i.id, '2025-06-30')),
          0::bigint, 'payment_probability(id) and priority(id), every invoice: the same as the SQL definitions');
SELECT is((SELECT count(*) FROM cobranca.invoice i
            WHERE pg_temp.single(i.id, '2026-02-10') IS DISTINCT FROM pg_temp.reference(i.id, '2026-02-10')),
          0::bigint, 'the same on another day, in the same statements as the day before');
SELECT is(pg_temp.single(-1, '2025-06-30'), 'null null', 'an unknown invoice: NULL');

-- under row security (an analyst of one portfolio): the statements, not
-- the direct reading, and only the rows the analyst sees
CREATE ROLE sb_test_ana IN ROLE cobranca_analyst;
INSERT INTO cobranca.assignment (creditor_id, login, portfolio_id)
  SELECT p.creditor_id, 'sb_test_ana', p.id FROM cobranca.portfolio p
    JOIN cobranca.creditor c ON c.id = p.creditor_id WHERE c.document = '11222333000181';
GRANT SELECT ON all_ids, ref_sql TO sb_test_ana;
SET LOCAL ROLE sb_test_ana;
SELECT ok((SELECT count(*) FROM all_ids, cobranca.score_invoices(ids, '2025-06-30'))
            = (SELECT count(*) FROM cobranca.invoice)
          AND (SELECT count(*) FROM cobranca.invoice) BETWEEN 1 AND (SELECT cardinality(ids) - 1 FROM all_ids),
          'an analyst gets the scores of the invoices it sees (some, not all), no others');
SELECT is((SELECT pg_temp.differences(ids, '2025-06-30') FROM all_ids), 0::bigint,
          'an analyst: the same as the SQL definitions under the same row security');
SELECT is((SELECT count(*) FROM cobranca.invoice i
            WHERE pg_temp.single(i.id, '2025-06-30') IS DISTINCT FROM pg_temp.reference(i.id, '2025-06-30')),
          0::bigint, 'an analyst: payment_probability(id) and priority(id) the same, through the statements');
RESET ROLE;

-- a premium of a collective contract whose paid_by_person is unknown is
-- not under RN 593 (as for the notices), and has a priority like any other
SELECT is((SELECT count(*) > 0 AND count(*) FILTER (WHERE s.priority IS NULL) = 0
             FROM all_ids, cobranca.score_invoices(ids, '2025-06-30') s
             JOIN cobranca.invoice i ON i.id = s.invoice_id
             JOIN cobranca.contract c ON c.id = i.contract_id
            WHERE i.status = 'open' AND i.kind = 'premium' AND c.paid_by_person IS NULL
              AND c.plan_type LIKE 'collective%'), true,
          'every open invoice has a priority, unknown paid_by_person included');
SELECT cmp_ok(cobranca.refresh_scores('2025-06-30 12:00-03'), '>', 0::bigint,
              'refresh_scores stores them all (invoice_score.priority is NOT NULL)');

-- another model
UPDATE cobranca.score_model SET active = false WHERE active;
INSERT INTO cobranca.score_model (features, coefficients, active)
  VALUES (cobranca.score_feature_names(),
          ARRAY[0.3, -0.2, 0.1, 0.5, -0.5, 0.25, -0.25, 0.7, -0.7, 0.9, 0.05, -0.05, 0.33, -0.33, 0.6]::float8[], true);
SELECT is((SELECT pg_temp.differences(ids, '2025-06-30') FROM all_ids), 0::bigint,
          'the same with another active model');
SELECT is((SELECT count(*) FROM cobranca.invoice i
            WHERE pg_temp.single(i.id, '2025-06-30') IS DISTINCT FROM pg_temp.reference(i.id, '2025-06-30')),
          0::bigint, 'another model: payment_probability(id) and priority(id) follow it');
SELECT is((SELECT DISTINCT model_id FROM all_ids, cobranca.score_invoices(ids, '2025-06-30')),
          (SELECT id FROM cobranca.score_model WHERE active), 'the active model is used');
UPDATE cobranca.score_model SET active = false WHERE active;
SELECT is((SELECT count(*) FROM all_ids, cobranca.score_invoices(ids, '2025-06-30')), 0::bigint,
          'no active model: no scores');
SELECT is(pg_temp.single((SELECT min(id) FROM cobranca.invoice), '2025-06-30'), 'null null',
          'no active model: payment_probability and priority are NULL');

-- the kept answers follow the data: a payment, a dispute, a new invoice,
-- a rollback to a savepoint, each in the same transaction, change the
-- next answer (test/isolation/specs/score_cache.spec: other transactions)
UPDATE cobranca.score_model SET active = true WHERE shipped;
CREATE TEMP TABLE pick AS
  SELECT x.id AS x, y.id AS y, x.payer_id, x.creditor_id
    FROM cobranca.invoice x JOIN cobranca.invoice y ON y.payer_id = x.payer_id AND y.id > x.id
   WHERE x.status = 'open' AND y.status = 'open' AND x.balance = x.amount AND y.balance = y.amount
     AND x.balance > 50 AND y.balance > 50
     AND x.due_on < '2025-06-01' AND y.due_on < '2025-06-01' AND x.id < 9000000000
   ORDER BY x.id LIMIT 1;
CREATE TEMP TABLE seen AS
  SELECT 'start'::text AS step, pg_temp.single(x, '2025-06-30') AS sx, pg_temp.single(y, '2025-06-30') AS sy FROM pick;
SELECT is((SELECT sx || ' / ' || sy FROM seen),
          (SELECT pg_temp.reference(x, '2025-06-30') || ' / ' || pg_temp.reference(y, '2025-06-30') FROM pick),
          'two invoices of one payer, the second kept from the call for the first: as the SQL definitions');
INSERT INTO cobranca.payment (creditor_id, invoice_id, amount, method, paid_at)
  SELECT pick.creditor_id, x, round(i.balance / 2, 2), 'pix', '2025-06-20 10:00-03'
    FROM pick JOIN cobranca.invoice i ON i.id = pick.x;
INSERT INTO seen SELECT 'paid', pg_temp.single(x, '2025-06-30'), pg_temp.single(y, '2025-06-30') FROM pick;
SELECT ok((SELECT n.sx <> o.sx AND n.sx = pg_temp.reference(x, '2025-06-30')
             FROM seen n, seen o, pick WHERE n.step = 'paid' AND o.step = 'start'),
          'a payment changes the next priority of the invoice, in the same transaction');
INSERT INTO cobranca.dispute (creditor_id, invoice_id, opened_on, reason)
  SELECT creditor_id, x, '2025-06-25', 'cobrança indevida' FROM pick;
INSERT INTO seen SELECT 'disputed', pg_temp.single(y, '2025-06-30'), pg_temp.single(x, '2025-06-30') FROM pick;
SELECT ok((SELECT n.sx <> o.sy AND n.sx = pg_temp.reference(y, '2025-06-30')
                  AND n.sy = pg_temp.reference(x, '2025-06-30')
             FROM seen n, seen o, pick WHERE n.step = 'disputed' AND o.step = 'paid'),
          'a dispute of one invoice changes the next probability of the payer''s other one, kept before');
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
  SELECT payer_id, 'new-late', 'private', '2025-02-01', '2025-03-01', 80.00 FROM pick;
INSERT INTO seen SELECT 'new invoice', pg_temp.single(y, '2025-06-30'), NULL FROM pick;
SELECT ok((SELECT n.sx <> o.sx AND n.sx = pg_temp.reference(y, '2025-06-30')
             FROM seen n, seen o, pick WHERE n.step = 'new invoice' AND o.step = 'disputed'),
          'a new unpaid invoice of the payer changes the next probability of the others');
SAVEPOINT before_payment;
INSERT INTO cobranca.payment (creditor_id, invoice_id, amount, method, paid_at)
  SELECT pick.creditor_id, y, i.balance - 1, 'pix', '2025-06-21 10:00-03'
    FROM pick JOIN cobranca.invoice i ON i.id = pick.y;
SELECT isnt((SELECT pg_temp.single(y, '2025-06-30') FROM pick), (SELECT sx FROM seen WHERE step = 'new invoice'),
            'a payment in a savepoint changes the answer');
SELECT is((SELECT pg_temp.single(y, '2025-06-30') FROM pick), (SELECT pg_temp.reference(y, '2025-06-30') FROM pick),
          'the answer after the payment in the savepoint is that of the SQL definitions');
ROLLBACK TO SAVEPOINT before_payment;
SELECT ok((SELECT pg_temp.single(y, '2025-06-30') = n.sx AND n.sx = pg_temp.reference(y, '2025-06-30')
             FROM seen n, pick WHERE n.step = 'new invoice'),
          'rolled back to the savepoint: the answer from before the payment again');

SELECT * FROM finish();
ROLLBACK;
