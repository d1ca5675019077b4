-- A creditor's own cadence replaces the shipped one; at most 5 attempts per
-- channel on the same debt; score-band rules wait for the scoring model.
BEGIN;
SELECT plan(7);

INSERT INTO cobranca.creditor (name, document, kind, ans_registry, uf)
VALUES ('Operadora Régua', '44455566600024', 'health_plan', '222333', 'SP'),
       ('Operadora Padrão', '60574652000161', 'health_plan', '444555', 'SP');
INSERT INTO cobranca.portfolio (creditor_id, name) SELECT id, 'Carteira' FROM cobranca.creditor;
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name, phone)
SELECT p.id, 'R-' || c.ans_registry, '529.982.247-25', 'Pagador ' || c.name, '11988887777'
  FROM cobranca.portfolio p JOIN cobranca.creditor c ON c.id = p.creditor_id;
-- due on Sunday 2026-03-01: D+1 .. D+6 are Monday to Saturday
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT id, 'I-' || external_id, 'private', '2026-02-01', '2026-03-01', 210.00 FROM cobranca.payer;
INSERT INTO cobranca.cadence_rule (creditor_id, name, offset_days, channel)
SELECT c.id, 'D+' || n || ' ligação', n, 'phone'
  FROM cobranca.creditor c, generate_series(1, 6) AS n WHERE c.name = 'Operadora Régua';
INSERT INTO cobranca.cadence_rule (creditor_id, name, offset_days, channel, min_probability)
SELECT id, 'D+2 SMS para bons pagadores', 2, 'sms', 0.8 FROM cobranca.creditor WHERE name = 'Operadora Régua';

SELECT is((SELECT sum(cobranca.generate_contacts((d + time '06:00') AT TIME ZONE 'America/Sao_Paulo'))::int
             FROM generate_series(date '2026-02-26', date '2026-03-07', interval '1 day') AS d), 6,
          'ten days of generation: five calls of the creditor with its own rules, one SMS of the other');
SELECT results_eq($$ SELECT k.contact_on, k.channel, k.attempt FROM cobranca.contact k
                       JOIN cobranca.creditor c ON c.id = k.creditor_id
                      WHERE c.name = 'Operadora Régua' ORDER BY 1 $$,
                  $$ VALUES (date '2026-03-02', 'phone'::text, 1), ('2026-03-03', 'phone', 2), ('2026-03-04', 'phone', 3),
                            ('2026-03-05', 'phone', 4), ('2026-03-06', 'phone', 5) $$,
                  'attempts 1 to 5 on the same debt; no sixth call, no shipped step, no score-band SMS');
SELECT results_eq($$ SELECT k.contact_on, k.channel, k.attempt FROM cobranca.contact k
                       JOIN cobranca.creditor c ON c.id = k.creditor_id
                      WHERE c.name = 'Operadora Padrão' $$,
                  $$ VALUES (date '2026-02-28', 'sms'::text, 1) $$,
                  'a creditor without rules follows the shipped cadence: the D-1 SMS on Saturday (SP allows it)');
SELECT is(cobranca.generate_contacts('2026-03-11 06:00-03'), 1, 'its D+10 call comes on the 11th');
UPDATE cobranca.cadence_rule SET active = false
 WHERE creditor_id = (SELECT id FROM cobranca.creditor WHERE name = 'Operadora Régua');
SELECT is(cobranca.generate_contacts('2026-03-11 06:00-03'), 0,
          'a creditor whose own rules are all inactive falls back to the shipped cadence (its payer''s D+10 call: attempts exhausted)');
SELECT is((SELECT count(*)::int FROM cobranca.contact WHERE channel = 'phone' AND contact_on = '2026-03-11'), 1,
          'so only the other creditor''s payer is called');
SELECT throws_ok($$ INSERT INTO cobranca.cadence_rule (name, offset_days, channel, template)
                    VALUES ('x', 3, 'whatsapp', 'Olá {{nome}}, o tratamento de {{procedimento}} está em aberto') $$,
                 '23514', NULL, 'a creditor''s template naming a treatment is refused');

SELECT * FROM finish();
ROLLBACK;
