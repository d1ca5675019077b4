-- Training: on synthetic history whose payment depends on known features,
-- the trained model beats the shipped default on the holdout and becomes
-- the active one; retraining on the same data does not replace it.
BEGIN;
SELECT plan(10);


CREATE FUNCTION pg_temp.pay(inv bigint, d date) RETURNS void LANGUAGE sql AS $$
  INSERT INTO cobranca.payment (creditor_id, invoice_id, paid_at, amount, method)
    SELECT creditor_id, id, (d + time '12:00') AT TIME ZONE 'America/Sao_Paulo', amount, 'pix'
      FROM cobranca.invoice WHERE id = inv;
  UPDATE cobranca.invoice
     SET balance = 0, paid_total = amount, status = 'paid', paid_on = d, last_payment_on = d
   WHERE id = inv AND status <> 'paid';
$$;

-- a valid CPF from a 9-digit base
CREATE FUNCTION pg_temp.cpf(n integer) RETURNS text LANGUAGE sql AS $$
  WITH b AS (SELECT lpad(n::text, 9, '0') AS d),
       d1 AS (SELECT d, (SELECT sum(substr(d, i, 1)::int * (11 - i)) FROM generate_series(1, 9) i) % 11 AS r FROM b),
       e AS (SELECT d || CASE WHEN r < 2 THEN 0 ELSE 11 - r END AS d FROM d1),
       d2 AS (SELECT d, (SELECT sum(substr(d, i, 1)::int * (12 - i)) FROM generate_series(1, 10) i) % 11 AS r FROM e)
  SELECT d || CASE WHEN r < 2 THEN 0 ELSE 11 - r END FROM d2
$$;

INSERT INTO cobranca.creditor (name, document, kind, ans_registry, city, uf)
  VALUES ('Operadora Synth', '60574652000161', 'health_plan', '123456', 'Campinas', 'SP');
INSERT INTO cobranca.portfolio (creditor_id, name)
  SELECT id, 'synth' FROM cobranca.creditor WHERE document = '60574652000161';
SELECT setseed(0.17);
INSERT INTO cobranca.payer (creditor_id, portfolio_id, external_id, document, name)
  SELECT p.creditor_id, p.id, 'S' || g, pg_temp.cpf(100000000 + g * 7919), 'Pagador ' || g
    FROM cobranca.portfolio p, generate_series(1, 150) g WHERE p.name = 'synth';
INSERT INTO cobranca.contract (creditor_id, portfolio_id, payer_id, external_id, number, plan_name,
                               plan_type, paid_by_person, starts_on)
  SELECT creditor_id, portfolio_id, id, external_id, 'C-' || external_id, 'Plano Synth',
         (ARRAY['individual', 'family', 'collective_business'])[1 + id % 3], true, '2024-01-01'
    FROM cobranca.payer WHERE external_id LIKE 'S%';
-- eight premiums each; the known dependence: larger bills are paid sooner,
-- copays (every third) soon, everything else late or never
INSERT INTO cobranca.invoice (creditor_id, portfolio_id, payer_id, contract_id, external_id, kind,
                              competence, issued_on, due_on, amount, balance)
  SELECT c.creditor_id, c.portfolio_id, c.payer_id, c.id, c.external_id || '-' || m,
         CASE WHEN m % 3 = 0 THEN 'copay' ELSE 'premium' END,
         make_date(2025, m, 1), make_date(2025, m, 1), make_date(2025, m, 10), a.amount, a.amount
    FROM cobranca.contract c, generate_series(1, 8) m,
         LATERAL (SELECT round((40 + random() * 960)::numeric, 2) + 0 * m AS amount) a
   WHERE c.external_id LIKE 'S%';
DO $$ BEGIN PERFORM count(*) FROM (
  SELECT pg_temp.pay(i.id, i.due_on + d.delay)
    FROM cobranca.invoice i
    CROSS JOIN LATERAL (SELECT greatest(1, round(
             CASE WHEN i.kind = 'copay' THEN 5 + random() * 20
                  ELSE 200 - i.amount / 5 + (random() - 0.5) * 80 END))::integer AS delay) d
   WHERE i.external_id LIKE 'S%' AND (i.amount > 150 OR i.kind = 'copay')) x; END $$;
UPDATE cobranca.invoice SET status = 'written_off'
 WHERE external_id LIKE 'S%' AND status = 'open';

SELECT ok((SELECT bool_and(cobranca.cpf_valid(pg_temp.cpf(g))) FROM generate_series(1, 50) g)
          AND pg_temp.cpf(145382206) = '14538220620', 'the fixture makes valid CPFs');
SELECT ok((SELECT count(*) FROM cobranca.invoice WHERE external_id LIKE 'S%' AND status = 'paid') > 500,
          'synthetic history: most invoices paid, some late');

SELECT lives_ok($$CREATE TEMP TABLE m1 AS SELECT cobranca.train_score_model('2026-06-01') AS id$$,
                'train_score_model runs on the synthetic history');
SELECT ok((SELECT active FROM cobranca.score_model WHERE id = (SELECT id FROM m1)),
          'the trained model is active');
SELECT ok(NOT (SELECT active FROM cobranca.score_model WHERE shipped), 'the shipped default is no longer active');
SELECT diag('held-out AUC: trained ' || round(holdout_auc::numeric, 4)
            || ', shipped default ' || round(previous_auc::numeric, 4)
            || ' (' || training_size || ' training, ' || holdout_size || ' holdout examples)')
  FROM cobranca.score_model WHERE id = (SELECT id FROM m1);
SELECT ok((SELECT holdout_auc > previous_auc + 0.1 FROM cobranca.score_model WHERE id = (SELECT id FROM m1)),
          'the trained model beats the default on the same holdout by a clear margin');
SELECT ok((SELECT holdout_auc > 0.75 FROM cobranca.score_model WHERE id = (SELECT id FROM m1)),
          'the trained model ranks well (AUC > 0.75)');
-- it learned the known dependence: amount raises the chance, here
SELECT ok((SELECT coefficients[3] > 0 FROM cobranca.score_model WHERE id = (SELECT id FROM m1)),
          'amount_log has the positive weight of the synthetic data');

-- the same data again: no better than the active model, so not activated
SELECT lives_ok($$CREATE TEMP TABLE m2 AS SELECT cobranca.train_score_model('2026-06-01') AS id$$,
                'retraining runs');
SELECT ok((SELECT NOT active AND holdout_auc <= previous_auc FROM cobranca.score_model WHERE id = (SELECT id FROM m2))
          AND (SELECT active FROM cobranca.score_model WHERE id = (SELECT id FROM m1)),
          'a model that does not beat the active one stays inactive');

SELECT * FROM finish();
ROLLBACK;
