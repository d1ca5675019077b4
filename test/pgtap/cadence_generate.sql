-- Contact generation: one contact per payer, channel and local day covering
-- all due invoices, lawful slots, opt-out, disputes, payments, the daily cap
-- per payer and the daily capacity per channel.
BEGIN;
SELECT plan(43);
SET LOCAL TimeZone = 'UTC';

INSERT INTO cobranca.creditor (name, document, kind, ans_registry, address, city, uf, service_phone)
VALUES ('Operadora Cadência', '11222333000181', 'health_plan', '123456', 'Av. Paulista, 1000', 'São Paulo', 'SP', '0800 123 4567');
INSERT INTO cobranca.portfolio (creditor_id, name)
SELECT id, 'Carteira' FROM cobranca.creditor WHERE name = 'Operadora Cadência';

INSERT INTO cobranca.payer (portfolio_id, external_id, document, name, email, phone, whatsapp, address, uf, timezone, opt_out)
SELECT p.id, v.ext, '145.382.206-20', v.name, v.email, v.phone, v.whatsapp, v.address, v.uf, v.tz, v.opt_out::text[]
  FROM cobranca.portfolio p,
       (VALUES ('P1', 'Ana Lima', 'ana@example.com', '11999990001', '11999990001', 'Rua 1', 'SP', 'America/Sao_Paulo', '{}'),
               ('P2', 'Bia Reis', 'bia@example.com', NULL, NULL, NULL, 'RJ', 'America/Sao_Paulo', '{}'),
               ('P3', 'Caio Dias', 'caio@example.com', NULL, '11999990003', NULL, 'SP', 'America/Sao_Paulo', '{email}'),
               ('P4', 'Duda Melo', NULL, NULL, NULL, 'Rua 4', 'SP', 'America/Sao_Paulo', '{}'),
               ('P5', 'Edu Paz', 'edu@example.com', NULL, NULL, NULL, 'AM', 'America/Manaus', '{}'),
               ('P6', 'Fabi Rosa', 'fabi@example.com', NULL, NULL, NULL, 'SP', 'America/Sao_Paulo', '{}'),
               ('P7', 'Gil Souza', NULL, NULL, '21999990007', NULL, 'RJ', 'America/Sao_Paulo', '{}'),
               ('P8', 'Hugo Alves', NULL, '11999990008', NULL, NULL, 'SP', 'America/Sao_Paulo', '{}'),
               ('P9', 'Iara Nunes', NULL, '11999990009', NULL, NULL, 'SP', 'America/Sao_Paulo', '{}'),
               ('P10', 'João Cruz', NULL, '11999990010', NULL, NULL, 'SP', 'America/Sao_Paulo', '{}'))
         AS v(ext, name, email, phone, whatsapp, address, uf, tz, opt_out);

-- P1: five invoices due on Friday 2026-03-13; P2-P6 one each
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT id, 'P1-' || n, 'private', '2026-02-20', '2026-03-13', 100.00 * n
  FROM cobranca.payer, generate_series(1, 5) AS n WHERE external_id = 'P1';
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT id, external_id || '-1', 'private', '2026-02-20', '2026-03-13', 80.00
  FROM cobranca.payer WHERE external_id IN ('P2', 'P3', 'P4', 'P5', 'P6');
INSERT INTO cobranca.dispute (invoice_id, reason)
SELECT id, 'valor contestado' FROM cobranca.invoice WHERE external_id = 'P6-1';

CREATE TEMP VIEW c AS
  SELECT k.*, p.external_id AS payer FROM cobranca.contact k JOIN cobranca.payer p ON p.id = k.payer_id;

-- D-3: e-mail reminders on Tuesday 2026-03-10
SELECT is(cobranca.generate_contacts('2026-03-10 06:00-03'), 3,
          'D-3 creates one e-mail per payer with an e-mail, not opted out, with an open invoice');
SELECT is(cobranca.generate_contacts('2026-03-10 06:00-03'), 0, 'running again for the same instant creates nothing');
SELECT is(cobranca.generate_contacts('2026-03-10 15:00-03'), 0, 'running again later that day creates nothing');
SELECT results_eq($$ SELECT payer FROM c ORDER BY payer $$, $$ VALUES ('P1'::text), ('P2'), ('P5') $$,
                  'the payers contacted: not the opted-out, the one without e-mail, nor the disputed one');
SELECT is((SELECT cardinality(invoice_ids) FROM c WHERE payer = 'P1'), 5,
          'one message covers all five invoices of the payer');
SELECT results_eq($$ SELECT payer, channel, contact_on, scheduled_at FROM c ORDER BY payer $$,
                  $$ VALUES ('P1'::text, 'email'::text, date '2026-03-10', timestamptz '2026-03-10 08:00-03'),
                            ('P2', 'email', '2026-03-10', '2026-03-10 09:00-03'),
                            ('P5', 'email', '2026-03-10', '2026-03-10 08:00-04') $$,
                  'each is scheduled at the start of its state''s window, in its own time zone');
SELECT is((SELECT rule_id FROM c WHERE payer = 'P1'),
          (SELECT id FROM cobranca.cadence_rule WHERE creditor_id IS NULL AND offset_days = -3),
          'the contact records the shipped D-3 rule');

-- the message
SELECT matches(cobranca.contact_message((SELECT id FROM c WHERE payer = 'P1')),
               'Operadora Cadência · CNPJ 11\.222\.333/0001-81 · Av\. Paulista, 1000, São Paulo/SP',
               'the message names the creditor, its CNPJ and address');
SELECT matches(cobranca.contact_message((SELECT id FROM c WHERE payer = 'P1')),
               'Total: R\$ 1\.500,00',
               'the message states the total of the five invoices');
SELECT is((SELECT count(*)::int FROM regexp_matches(cobranca.contact_message((SELECT id FROM c WHERE payer = 'P1')),
                                                     'vencimento 13/03/2026: R\$', 'g')), 5,
          'the message lists each invoice with its due date and amount');

-- D-1 on Thursday: WhatsApp and SMS are both due; one contact a day
SELECT is(cobranca.generate_contacts('2026-03-12 06:00-03'), 2, 'D-1 creates the reminders of P1 and P3');
SELECT results_eq($$ SELECT payer, channel FROM c WHERE contact_on = '2026-03-12' ORDER BY payer $$,
                  $$ VALUES ('P1'::text, 'whatsapp'::text), ('P3', 'whatsapp') $$,
                  'at most one contact per payer per day: WhatsApp is preferred to SMS');
SET LOCAL cobranca.max_contacts_per_day = 2;
SELECT is(cobranca.generate_contacts('2026-03-12 06:00-03'), 1, 'with a cap of 2 the SMS of P1 is added');
SELECT is((SELECT count(*)::int FROM c WHERE payer = 'P1' AND contact_on = '2026-03-12'), 2,
          'P1 has two contacts on that day, never two on one channel');
RESET cobranca.max_contacts_per_day;

-- payments and disputes stop what they made pointless
INSERT INTO cobranca.payment (invoice_id, external_id, paid_at, amount, method)
SELECT id, 'PAY-' || external_id, '2026-03-11 10:00-03', amount, 'pix' FROM cobranca.invoice WHERE external_id = 'P1-1';
SELECT results_eq($$ SELECT status, invoice_ids FROM c WHERE payer = 'P1' AND channel = 'whatsapp' $$,
                  $$ SELECT 'scheduled'::text, array_agg(id ORDER BY id) FROM cobranca.invoice
                      WHERE external_id IN ('P1-2', 'P1-3', 'P1-4', 'P1-5') $$,
                  'a paid invoice leaves the pending contact, which goes on for the others');
INSERT INTO cobranca.payment (invoice_id, external_id, paid_at, amount, method)
SELECT id, 'PAY-' || external_id, '2026-03-11 10:00-03', 50.00, 'pix' FROM cobranca.invoice WHERE external_id = 'P1-2';
SELECT is((SELECT cardinality(invoice_ids) FROM c WHERE payer = 'P1' AND channel = 'whatsapp'), 4,
          'a partial payment leaves the invoice in the contact');
INSERT INTO cobranca.payment (invoice_id, external_id, paid_at, amount, method)
SELECT i.id, 'PAY2-' || i.external_id, '2026-03-11 11:00-03', i.balance, 'pix'
  FROM cobranca.invoice i WHERE i.external_id IN ('P1-2', 'P1-3', 'P1-4', 'P1-5');
SELECT results_eq($$ SELECT channel, status FROM c WHERE payer = 'P1' AND contact_on = '2026-03-12' ORDER BY channel $$,
                  $$ VALUES ('sms'::text, 'cancelled'::text), ('whatsapp', 'cancelled') $$,
                  'paying everything cancels every pending contact in the same transaction');
SELECT is((SELECT status FROM c WHERE payer = 'P1' AND channel = 'email'), 'cancelled',
          'the earlier scheduled e-mail is cancelled too');
INSERT INTO cobranca.dispute (invoice_id, reason)
SELECT id, 'não reconheço' FROM cobranca.invoice WHERE external_id = 'P3-1';
SELECT is((SELECT status FROM c WHERE payer = 'P3'), 'cancelled', 'a dispute cancels the pending contact');
SELECT is(cobranca.generate_contacts('2026-03-12 06:00-03'), 0, 'cancelled contacts are not revived');

-- a weekend step: D+3 of an invoice due Wednesday falls on Saturday; RJ has no Saturday window
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT id, 'P7-1', 'private', '2026-02-20', '2026-03-04', 90.00 FROM cobranca.payer WHERE external_id = 'P7';
SELECT is(cobranca.generate_contacts('2026-03-07 06:00-03'), 1, 'the Saturday step is generated');
SELECT results_eq($$ SELECT channel, contact_on, scheduled_at FROM c WHERE payer = 'P7' $$,
                  $$ VALUES ('whatsapp'::text, date '2026-03-09', timestamptz '2026-03-09 09:00-03') $$,
                  'and pushed to Monday 09:00 in Rio de Janeiro');

-- a D-1 that falls on a state holiday (9 July in São Paulo) moves back to the 8th
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT id, 'P3-JUL', 'private', '2026-06-20', '2026-07-10', 70.00 FROM cobranca.payer WHERE external_id = 'P3';
SELECT is(cobranca.generate_contacts('2026-07-09 06:00-03'), 0, 'nothing on the holiday itself');
SELECT is(cobranca.generate_contacts('2026-07-08 06:00-03'), 1, 'the D-1 reminder goes out on the 8th');
SELECT results_eq($$ SELECT channel, contact_on FROM c WHERE payer = 'P3' AND contact_on > '2026-06-01' $$,
                  $$ VALUES ('whatsapp'::text, date '2026-07-08') $$, 'by WhatsApp, the day before the holiday');

-- a reminder is made on its day while the window is open, never after
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name, whatsapp, uf)
SELECT portfolio_id, 'P11', '123.456.789-09', 'Lia Prado', '11999990011', 'SP' FROM cobranca.payer WHERE external_id = 'P1';
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT id, 'P11-1', 'private', '2026-03-01', '2026-03-20', 60.00 FROM cobranca.payer WHERE external_id = 'P11';
SELECT is(cobranca.generate_contacts('2026-03-19 20:30-03'), 0,
          'a D-1 reminder generated after the window closed is not made (it would arrive on the due date)');
SELECT is(cobranca.generate_contacts('2026-03-19 00:05-03'), 1, 'generated that morning it is made');

-- capacity: two phone calls a day, highest priority first
INSERT INTO cobranca.channel_capacity (creditor_id, channel, daily_limit)
SELECT id, 'phone', 2 FROM cobranca.creditor WHERE name = 'Operadora Cadência';
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT id, external_id || '-1', 'private', '2026-02-01', '2026-02-27',
       CASE external_id WHEN 'P8' THEN 100.00 WHEN 'P9' THEN 300.00 ELSE 200.00 END
  FROM cobranca.payer WHERE external_id IN ('P8', 'P9', 'P10');
SELECT is(cobranca.generate_contacts('2026-03-09 06:00-03'), 2, 'D+10 calls are limited by the daily capacity');
SELECT results_eq($$ SELECT payer FROM c WHERE channel = 'phone' ORDER BY payer $$,
                  $$ VALUES ('P10'::text), ('P9') $$, 'the two payers owing most are called');
SELECT is(cobranca.generate_contacts('2026-03-09 07:00-03'), 0, 'and the capacity holds on a second run');
SELECT is(cobranca.generate_contacts('2026-03-10 06:00-03'), 1, 'the payer left out is called the next day');
SELECT results_eq($$ SELECT payer, contact_on FROM c WHERE channel = 'phone' ORDER BY contact_on, payer $$,
                  $$ VALUES ('P10'::text, date '2026-03-09'), ('P9', '2026-03-09'), ('P8', '2026-03-10') $$,
                  'each payer once: a step on or after the due date catches up on the following days');

-- an invoice the ERP sends late still gets its overdue step, once
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT id, 'P7-LATE', 'private', '2026-02-20', '2026-03-06', 45.00 FROM cobranca.payer WHERE external_id = 'P7';
SELECT is(cobranca.generate_contacts('2026-03-13 06:00-03'), 1, 'a late invoice gets its D+3 WhatsApp four days late');
SELECT is(cobranca.generate_contacts('2026-03-16 06:00-03'), 0, 'and not again on the following days');

-- templates: health data and threats are refused
SELECT throws_ok($$ INSERT INTO cobranca.cadence_rule (name, offset_days, channel, template)
                    VALUES ('x', 5, 'sms', 'Olá {{nome}}, CID {{cid}}') $$,
                 '23514', NULL, 'a template referencing the CID is refused');
SELECT throws_ok($$ INSERT INTO cobranca.cadence_rule (name, offset_days, channel, template)
                    VALUES ('x', 5, 'sms', 'Olá {{nome}}, seu EXAME de sangue está em aberto: {{total}}') $$,
                 '23514', 'cadence_rule.template references health data: "exame"',
                 'a template naming a procedure is refused');
SELECT throws_ok($$ INSERT INTO cobranca.cadence_rule (name, offset_days, channel, template)
                    VALUES ('x', 5, 'sms', 'Olá {{nome}}, {{diagnostico}}') $$,
                 '23514', NULL, 'a template with a health placeholder is refused');
SELECT throws_ok($$ INSERT INTO cobranca.cadence_rule (name, offset_days, channel, template)
                    VALUES ('x', 5, 'sms', 'Pague {{total}} ou seu nome vai para o Serasa') $$,
                 '23514', 'cadence_rule.template contains threatening or embarrassing wording: "serasa"',
                 'a threatening template is refused');
SELECT throws_ok($$ SELECT cobranca.render_template('Internação de {{nome}}', '{"nome": "Ana"}') $$,
                 '23514', NULL, 'the renderer refuses it too');
SELECT throws_ok($$ INSERT INTO cobranca.cadence_rule (name, offset_days, channel, template)
                    VALUES ('x', 5, 'sms', 'Olá {{apelido}}') $$,
                 '23514', 'cadence_rule.template uses an unknown placeholder: "{{apelido}}"',
                 'an unknown placeholder is refused');
SELECT lives_ok($$ INSERT INTO cobranca.cadence_rule (name, offset_days, channel, template, active)
                   VALUES ('ok', 5, 'sms', 'Olá {{nome}}: {{total}} em aberto. {{credor}} CNPJ {{credor_cnpj}}', false) $$,
                'a plain template is accepted');
SELECT is(cobranca.render_template(E'Olá {{nome}}.\nPIX: {{pix}}\nFim', '{"nome": "Ana"}'), E'Olá Ana.\nFim',
          'a line whose placeholders are all empty is left out');

SELECT is((SELECT position::int FROM cobranca.job WHERE name = 'generate_contacts'), 30,
          'generate_contacts is a registered job at position 30');

SELECT * FROM finish();
ROLLBACK;
