-- The cadence under row-level security: the calendar is the same for every
-- role, an ERP claims and numbers its own creditor's contacts only, and a
-- payment written by the ERP stops the contacts it made pointless.
BEGIN;
SELECT plan(8);

INSERT INTO cobranca.creditor (name, document, kind, ans_registry, uf)
VALUES ('Cad Sec A', '11.222.333/0001-81', 'health_plan', '123456', 'SP'),
       ('Cad Sec B', '60.574.652/0001-61', 'health_plan', '654321', 'RJ');
INSERT INTO cobranca.portfolio (creditor_id, name) SELECT id, 'Carteira ' || name FROM cobranca.creditor
 WHERE name LIKE 'Cad Sec %';
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name, phone)
SELECT p.id, 'CADSEC-' || c.ans_registry, '145.382.206-20', 'Pagador ' || c.name, '11977776666'
  FROM cobranca.portfolio p JOIN cobranca.creditor c ON c.id = p.creditor_id WHERE c.name LIKE 'Cad Sec %';
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT id, 'I-' || external_id, 'private', '2026-02-01', '2026-02-27', 99.00 FROM cobranca.payer
 WHERE external_id LIKE 'CADSEC-%';
SELECT id AS a_id FROM cobranca.creditor WHERE name = 'Cad Sec A' \gset
INSERT INTO cobranca.contact_window (creditor_id, uf, weekday_from, weekday_until)
VALUES (:a_id, 'SP', '09:00', '18:00');

CREATE ROLE cad_t_erp_a LOGIN IN ROLE cobranca_erp;
CREATE ROLE cad_t_erp_b LOGIN IN ROLE cobranca_erp;
CREATE ROLE cad_t_ana LOGIN IN ROLE cobranca_analyst;
INSERT INTO cobranca.erp_login (login, creditor_id)
SELECT 'cad_t_erp_a', id FROM cobranca.creditor WHERE name = 'Cad Sec A'
UNION ALL SELECT 'cad_t_erp_b', id FROM cobranca.creditor WHERE name = 'Cad Sec B';

SELECT is(cobranca.generate_contacts('2026-03-09 06:00-03'), 2, 'one D+10 call for each creditor''s payer');
SELECT is((SELECT scheduled_at FROM cobranca.contact WHERE creditor_id = :a_id),
          timestamptz '2026-03-09 09:00-03', 'the creditor''s own window (from 09:00) is applied');

-- the cache reloads as the tables' owner: a role that cannot see the
-- creditor's window still gets it applied
UPDATE cobranca.contact_window SET weekday_from = '10:00' WHERE creditor_id = :a_id;
SET ROLE cad_t_ana;
SELECT is(cobranca.next_contact_slot('2026-03-10 08:30-03', 'phone', 'America/Sao_Paulo', 'SP', :a_id),
          timestamptz '2026-03-10 10:00-03', 'the calendar does not depend on what the caller may see');
RESET ROLE;

SET ROLE cad_t_erp_a;
SELECT is((SELECT count(*)::int FROM cobranca.claim_contacts('phone', 10)), 1,
          'an ERP claims the calls of its own creditor only');
SELECT matches((SELECT protocol FROM cobranca.contact), '^123456[0-9]{8}000001$',
               'numbered from its own creditor''s protocol counter');
RESET ROLE;
SET ROLE cad_t_erp_b;
SELECT throws_ok('SELECT cobranca.next_protocol(' || :a_id || ')', '23503', NULL,
                 'another creditor''s ERP cannot draw its protocol numbers');
RESET ROLE;

-- a payment written by the ERP cancels the pending contact in its transaction
SET ROLE cad_t_erp_b;
INSERT INTO cobranca.payment (invoice_id, external_id, paid_at, amount, method)
SELECT id, 'PAY-' || external_id, '2026-03-09 07:00-03', 99.00, 'pix' FROM cobranca.invoice;
SELECT is((SELECT status FROM cobranca.contact), 'cancelled', 'its payment cancels its payer''s call');
RESET ROLE;
SELECT is((SELECT status FROM cobranca.contact WHERE creditor_id = :a_id), 'scheduled',
          'the other creditor''s contact is untouched');

SELECT * FROM finish();
ROLLBACK;
