-- The outbox: senders claim due contacts once, get the rendered message and,
-- for an operator's calls, an ANS protocol number; they report results back.
BEGIN;
SELECT plan(18);

INSERT INTO cobranca.creditor (name, document, kind, ans_registry, address, city, uf, service_phone)
VALUES ('Operadora Saída', '11222333000181', 'health_plan', '123456', 'Rua do Ouvidor, 50', 'Rio de Janeiro', 'RJ', '0800 765 4321'),
       ('Clínica Saída', '60574652000161', 'clinic', NULL, 'Rua B, 2', 'Recife', 'PE', '81 3000 0000');
INSERT INTO cobranca.portfolio (creditor_id, name) SELECT id, 'Carteira' FROM cobranca.creditor;
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name, phone, email)
SELECT p.id, c.kind || n, '987.654.321-00', 'Pagador ' || n, '1199999000' || n, 'p' || n || '@example.com'
  FROM cobranca.portfolio p JOIN cobranca.creditor c ON c.id = p.creditor_id, generate_series(1, 3) AS n;
-- invoices due 10 days before a Monday in the past: D+10 calls are due then
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT id, 'I-' || external_id, 'private', '2026-02-01', '2026-02-27', 120.00 FROM cobranca.payer;

SELECT is(cobranca.generate_contacts('2026-03-09 06:00-03'), 6, 'six calls are generated');
SELECT is((SELECT count(*)::int FROM cobranca.claim_contacts('email', 10)), 0, 'no e-mail is due');

CREATE TEMP TABLE first_claim AS SELECT * FROM cobranca.claim_contacts('phone', 4);
SELECT is((SELECT count(*)::int FROM first_claim), 4, 'a sender gets the number of contacts it asked for');
CREATE TEMP TABLE second_claim AS SELECT * FROM cobranca.claim_contacts('phone', 4);
SELECT is((SELECT count(*)::int FROM second_claim), 2, 'a second claim gets only the rest');
SELECT is((SELECT count(*)::int FROM first_claim f JOIN second_claim s USING (id)), 0,
          'no contact is handed out twice');
SELECT is((SELECT count(*)::int FROM cobranca.claim_contacts('phone', 4)), 0, 'nothing is left');
SELECT ok((SELECT bool_and(claimed_at IS NOT NULL AND message IS NOT NULL) FROM cobranca.contact),
          'claimed contacts carry their claim time and rendered message');

-- ANS protocols: operators only, registry + local date + gap-free sequence
CREATE TEMP TABLE protos AS
  SELECT k.protocol, c.kind FROM cobranca.contact k JOIN cobranca.creditor c ON c.id = k.creditor_id;
SELECT is((SELECT count(*)::int FROM protos WHERE kind = 'health_plan' AND protocol IS NOT NULL), 3,
          'each call of the operator has a protocol number');
SELECT is((SELECT count(*)::int FROM protos WHERE kind = 'clinic' AND protocol IS NOT NULL), 0,
          'a clinic''s calls have none');
SELECT results_eq($$ SELECT protocol FROM protos WHERE protocol IS NOT NULL ORDER BY 1 $$,
                  $$ SELECT '123456' || to_char(now() AT TIME ZONE 'America/Sao_Paulo', 'YYYYMMDD') || lpad(n::text, 6, '0')
                       FROM generate_series(1, 3) AS n $$,
                  'protocols are registry, local date and sequence 000001, 000002, 000003');
SELECT matches((SELECT message FROM cobranca.contact WHERE protocol LIKE '%000001'),
               'Protocolo de atendimento: 123456[0-9]{8}000001',
               'the call script carries the protocol');
SELECT is(cobranca.next_protocol((SELECT id FROM cobranca.creditor WHERE kind = 'health_plan')),
          '123456' || to_char(now() AT TIME ZONE 'America/Sao_Paulo', 'YYYYMMDD') || '000004',
          'next_protocol continues the day''s sequence');
SELECT throws_ok($$ SELECT cobranca.next_protocol((SELECT id FROM cobranca.creditor WHERE kind = 'clinic')) $$,
                 '23514', NULL, 'a creditor without ANS registry gets no protocol');

-- results
SELECT is((cobranca.record_contact_result((SELECT id FROM first_claim ORDER BY id LIMIT 1), 'no_answer',
                                          '2026-03-09 10:00-03', '{"seconds": 30}')).status, 'failed',
          'an unanswered call is failed');
SELECT is((cobranca.record_contact_result((SELECT id FROM first_claim ORDER BY id LIMIT 1 OFFSET 1), 'delivered')).status,
          'delivered', 'a delivery is recorded');
SELECT is((cobranca.record_contact_result((SELECT id FROM first_claim ORDER BY id LIMIT 1 OFFSET 1), 'sent')).status,
          'delivered', 'a late "sent" never moves a contact back');
SELECT is((SELECT count(*)::int FROM cobranca.contact_event), 3, 'every report is kept in contact_event');
SELECT throws_ok($$ SELECT cobranca.record_contact_result((SELECT id FROM first_claim LIMIT 1), 'exploded') $$,
                 '23514', NULL, 'an unknown outcome is refused');

SELECT * FROM finish();
ROLLBACK;
