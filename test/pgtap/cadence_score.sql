-- Contacts and the scores kept by refresh_scores: a channel's daily capacity
-- goes to the highest cobranca.priority first, and a rule with a score band
-- reaches only the scored invoices inside its band.
BEGIN;
SELECT plan(7);
SET LOCAL TimeZone = 'UTC';

INSERT INTO cobranca.creditor (name, document, kind, ans_registry, address, city, uf)
VALUES ('Operadora Escore', '44455566600024', 'health_plan', '654321', 'Rua A, 1', 'São Paulo', 'SP');
INSERT INTO cobranca.portfolio (creditor_id, name)
SELECT id, 'Carteira' FROM cobranca.creditor WHERE name = 'Operadora Escore';
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name, phone, whatsapp, uf)
SELECT p.id, v.ext, '987.654.321-00', v.ext, '119999900' || v.n, '119999900' || v.n, 'SP'
  FROM cobranca.portfolio p JOIN cobranca.creditor c ON c.id = p.creditor_id AND c.name = 'Operadora Escore',
       (VALUES ('S1', 11), ('S2', 12), ('S3', 13)) AS v(ext, n);
-- due Friday 2026-02-27: D+10 is Monday 2026-03-09; S1 owes most
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT id, external_id || '-1', 'private', '2026-02-01', '2026-02-27',
       CASE external_id WHEN 'S1' THEN 900.00 WHEN 'S2' THEN 300.00 ELSE 100.00 END
  FROM cobranca.payer WHERE external_id IN ('S1', 'S2', 'S3');
-- scores as refresh_scores keeps them: S2 is the likeliest to pay, S1 the least
INSERT INTO cobranca.invoice_score (invoice_id, creditor_id, portfolio_id, as_of, model_id, balance,
                                    probability, updated_amount, priority)
SELECT i.id, i.creditor_id, i.portfolio_id, '2026-03-09', (SELECT min(id) FROM cobranca.score_model),
       i.balance, v.p, i.balance, round((i.balance * v.p)::numeric, 2)
  FROM cobranca.invoice i JOIN (VALUES ('S1-1', 0.10), ('S2-1', 0.90)) AS v(ext, p) ON v.ext = i.external_id;

CREATE TEMP VIEW c AS
SELECT y.external_id AS payer, k.channel, k.contact_on
  FROM cobranca.contact k JOIN cobranca.payer y ON y.id = k.payer_id
 WHERE k.creditor_id = (SELECT id FROM cobranca.creditor WHERE name = 'Operadora Escore');

SAVEPOINT before_rules;
-- the creditor's own cadence: D+10 call for likely payers, D+10 WhatsApp for the rest
INSERT INTO cobranca.cadence_rule (creditor_id, name, offset_days, channel, min_probability)
SELECT id, 'D+10 ligação (provável)', 10, 'phone', 0.5 FROM cobranca.creditor WHERE name = 'Operadora Escore';
INSERT INTO cobranca.cadence_rule (creditor_id, name, offset_days, channel, max_probability)
SELECT id, 'D+10 WhatsApp (improvável)', 10, 'whatsapp', 0.5 FROM cobranca.creditor WHERE name = 'Operadora Escore';

SELECT is(cobranca.generate_contacts('2026-03-09 06:00-03'), 2, 'one contact for each scored payer');
SELECT results_eq($$ SELECT payer, channel FROM c ORDER BY payer $$,
                  $$ VALUES ('S1'::text, 'whatsapp'::text), ('S2', 'phone') $$,
                  'each scored invoice meets the rule of its band');
SELECT is((SELECT count(*)::int FROM c WHERE payer = 'S3'), 0, 'an invoice not scored yet is left to rules without a band');

-- capacity: one call a day for an unbanded D+10 rule goes to the highest
-- priority (S2: 300 x 0.9), not to the largest debt (S1: 900 x 0.1); an
-- unscored invoice counts its balance (S3: 100)
ROLLBACK TO SAVEPOINT before_rules;
INSERT INTO cobranca.cadence_rule (creditor_id, name, offset_days, channel)
SELECT id, 'D+10 ligação', 10, 'phone' FROM cobranca.creditor WHERE name = 'Operadora Escore';
INSERT INTO cobranca.channel_capacity (creditor_id, channel, daily_limit)
SELECT id, 'phone', 1 FROM cobranca.creditor WHERE name = 'Operadora Escore';
SELECT is(cobranca.generate_contacts('2026-03-09 06:00-03'), 1, 'the capacity allows one call');
SELECT results_eq($$ SELECT payer FROM c $$, $$ VALUES ('S2'::text) $$,
                  'the call goes to the highest priority, not to the largest debt');
SELECT is(cobranca.generate_contacts('2026-03-10 06:00-03'), 1, 'the next day the next one is called');
SELECT results_eq($$ SELECT payer FROM c WHERE contact_on = '2026-03-10' $$, $$ VALUES ('S3'::text) $$,
                  'an unscored invoice ranks by its balance, above a low score');
SELECT * FROM finish();
ROLLBACK;
