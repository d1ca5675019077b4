-- Invoice bookkeeping, tenant keys and payer documents as the ERP uses them.
BEGIN;
SELECT plan(31);

INSERT INTO cobranca.creditor (name, document, kind, ans_registry, uf)
VALUES ('Operadora A', '11.222.333/0001-81', 'health_plan', '123456', 'SP'),
       ('Clínica B', '60.574.652/0001-61', 'clinic', NULL, 'RJ');
INSERT INTO cobranca.portfolio (creditor_id, name)
SELECT id, 'Carteira ' || name FROM cobranca.creditor;

SELECT is((SELECT document FROM cobranca.creditor WHERE name = 'Operadora A'), '11222333000181',
          'the creditor CNPJ is stored without punctuation');

-- payer: creditor taken from the portfolio; document masked, encrypted, digested
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name)
SELECT p.id, 'P1', '145.382.206-20', 'Maria Souza'
  FROM cobranca.portfolio p JOIN cobranca.creditor c ON c.id = p.creditor_id
 WHERE c.name = 'Operadora A';

SELECT is((SELECT creditor_id FROM cobranca.payer WHERE external_id = 'P1'),
          (SELECT id FROM cobranca.creditor WHERE name = 'Operadora A'),
          'payer.creditor_id is filled from its portfolio');
SELECT is((SELECT document FROM cobranca.payer WHERE external_id = 'P1'), '***.382.206-**',
          'payer.document is stored masked');
SELECT ok((SELECT position(convert_to('14538220620', 'UTF8') IN document_cipher) = 0
             FROM cobranca.payer WHERE external_id = 'P1'),
          'the ciphertext does not contain the document');
SELECT is((SELECT cobranca.document_decrypt(document_cipher) FROM cobranca.payer WHERE external_id = 'P1'),
          '14538220620', 'the ciphertext decrypts to the normalized document');
SELECT is((SELECT document_digest FROM cobranca.payer WHERE external_id = 'P1'),
          cobranca.document_digest('14538220620'), 'the digest is the keyed digest of the normalized document');

-- ERP re-send with ON CONFLICT: no duplicate, document kept consistent
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name)
SELECT portfolio_id, 'P1', '123.456.789-09', 'Maria S. Souza' FROM cobranca.payer WHERE external_id = 'P1'
ON CONFLICT (creditor_id, external_id) DO UPDATE
  SET name = EXCLUDED.name, document = EXCLUDED.document,
      document_cipher = EXCLUDED.document_cipher, document_digest = EXCLUDED.document_digest;
SELECT is((SELECT count(*)::int FROM cobranca.payer WHERE external_id = 'P1'), 1, 're-sent payer is not duplicated');
SELECT is((SELECT cobranca.document_decrypt(document_cipher) || ' ' || document FROM cobranca.payer WHERE external_id = 'P1'),
          '12345678909 ***.456.789-**', 'a re-sent document replaces cipher, digest and mask together');
SELECT throws_ok($$ UPDATE cobranca.payer SET document = EXCLUDED_doc FROM (SELECT '***.111.222-**'::text AS EXCLUDED_doc) x
                    WHERE external_id = 'P1' $$,
                 '23514', 'payer.document cannot be set to a masked value',
                 'a masked document without its cipher is refused');
UPDATE cobranca.payer SET name = 'Maria Souza' WHERE external_id = 'P1';
SELECT is((SELECT cobranca.document_decrypt(document_cipher) FROM cobranca.payer WHERE external_id = 'P1'),
          '12345678909', 'an update that does not touch the document keeps it');

-- tenant: a creditor_id that disagrees with the parent is refused
SELECT throws_ok($$ INSERT INTO cobranca.payer (creditor_id, portfolio_id, external_id, document, name)
                    SELECT (SELECT id FROM cobranca.creditor WHERE name = 'Clínica B'), portfolio_id, 'PX',
                           '987.654.321-00', 'X' FROM cobranca.payer WHERE external_id = 'P1' $$,
                 '23514', 'payer.creditor_id does not match its portfolio',
                 'a creditor_id that disagrees with the portfolio is refused');

INSERT INTO cobranca.contract (payer_id, external_id, number, plan_name, plan_type, starts_on)
SELECT id, 'C1', '0001', 'Plano Ouro', 'individual', '2025-01-01' FROM cobranca.payer WHERE external_id = 'P1';
INSERT INTO cobranca.contract (payer_id, external_id, number, plan_name, plan_type, starts_on)
SELECT id, 'C2', '0002', 'Plano Empresa', 'collective_business', '2025-01-01' FROM cobranca.payer WHERE external_id = 'P1';
SELECT results_eq($$ SELECT external_id, paid_by_person FROM cobranca.contract ORDER BY 1 $$,
                  $$ VALUES ('C1'::text, true), ('C2', false) $$,
                  'paid_by_person defaults by plan type');

-- invoices and payments
INSERT INTO cobranca.invoice (payer_id, contract_id, external_id, kind, competence, issued_on, due_on, amount)
SELECT p.id, c.id, 'I-' || m, 'premium', make_date(2026, m, 1), make_date(2026, m, 1) - 10, make_date(2026, m, 10), 400.00
  FROM cobranca.payer p JOIN cobranca.contract c ON c.payer_id = p.id AND c.external_id = 'C1',
       generate_series(1, 3) AS m;
SELECT is((SELECT portfolio_id FROM cobranca.invoice WHERE external_id = 'I-1'),
          (SELECT portfolio_id FROM cobranca.payer WHERE external_id = 'P1'), 'invoice.portfolio_id comes from the payer');
SELECT results_eq($$ SELECT status, balance FROM cobranca.invoice WHERE external_id = 'I-1' $$,
                  $$ VALUES ('open'::text, 400.00::numeric) $$, 'a new invoice is open for its amount');

INSERT INTO cobranca.payment (invoice_id, external_id, paid_at, amount, method)
SELECT id, 'PG-1a', '2026-01-10 12:00-03', 150.00, 'pix' FROM cobranca.invoice WHERE external_id = 'I-1';
SELECT results_eq($$ SELECT status, balance, paid_on FROM cobranca.invoice WHERE external_id = 'I-1' $$,
                  $$ VALUES ('open'::text, 250.00::numeric, NULL::date) $$, 'partial payment lowers the balance');
INSERT INTO cobranca.payment (invoice_id, external_id, paid_at, amount, method)
SELECT id, 'PG-1b', '2026-01-15 12:00-03', 250.00, 'boleto' FROM cobranca.invoice WHERE external_id = 'I-1';
SELECT results_eq($$ SELECT status, balance, paid_on FROM cobranca.invoice WHERE external_id = 'I-1' $$,
                  $$ VALUES ('paid'::text, 0.00::numeric, '2026-01-15'::date) $$, 'full payment settles it on the payment date');
INSERT INTO cobranca.payment (invoice_id, external_id, paid_at, amount, method)
SELECT id, 'PG-2', '2026-02-10 12:00-03', 450.00, 'pix' FROM cobranca.invoice WHERE external_id = 'I-2';
SELECT results_eq($$ SELECT status, balance, credit FROM cobranca.invoice WHERE external_id = 'I-2' $$,
                  $$ VALUES ('paid'::text, 0.00::numeric, 50.00::numeric) $$, 'overpayment is kept as credit');
SELECT results_eq($$ SELECT external_id, credit, payer_name FROM cobranca.credit $$,
                  $$ VALUES ('I-2'::text, 50.00::numeric, 'Maria Souza'::text) $$,
                  'the overpayment shows in cobranca.credit');
SELECT is((SELECT sum(p.amount) FROM cobranca.payment p JOIN cobranca.invoice i ON i.id = p.invoice_id
            WHERE i.external_id = 'I-2'), 450.00::numeric, 'the overpaying payment is recorded whole');
INSERT INTO cobranca.payment (invoice_id, external_id, paid_at, amount, method)
SELECT id, 'PG-2', '2026-02-10 12:00-03', 450.00, 'pix' FROM cobranca.invoice WHERE external_id = 'I-2'
ON CONFLICT (creditor_id, external_id) DO NOTHING;
SELECT is((SELECT paid_total FROM cobranca.invoice WHERE external_id = 'I-2'), 450.00::numeric,
          'a re-sent payment is not counted twice');
SELECT is((SELECT creditor_id FROM cobranca.payment WHERE external_id = 'PG-2'),
          (SELECT creditor_id FROM cobranca.invoice WHERE external_id = 'I-2'), 'payment.creditor_id comes from the invoice');

-- disputes
INSERT INTO cobranca.dispute (invoice_id, external_id, opened_on, reason)
SELECT id, 'D-3', '2026-03-12', 'Reajuste contestado' FROM cobranca.invoice WHERE external_id = 'I-3';
SELECT is((SELECT status FROM cobranca.invoice WHERE external_id = 'I-3'), 'disputed', 'an open dispute makes it disputed');
INSERT INTO cobranca.dispute (invoice_id, external_id, opened_on, reason)
SELECT id, 'D-3b', '2026-03-13', 'Segunda contestação' FROM cobranca.invoice WHERE external_id = 'I-3';
UPDATE cobranca.dispute SET answered_on = '2026-03-20', outcome = 'rejected' WHERE external_id = 'D-3';
SELECT is((SELECT status FROM cobranca.invoice WHERE external_id = 'I-3'), 'disputed', 'still disputed while another dispute is open');
UPDATE cobranca.dispute SET answered_on = '2026-03-21', outcome = 'rejected' WHERE external_id = 'D-3b';
SELECT is((SELECT status FROM cobranca.invoice WHERE external_id = 'I-3'), 'open', 'open again when every dispute is answered');
DELETE FROM cobranca.dispute WHERE external_id = 'D-3b';
SELECT is((SELECT open_disputes FROM cobranca.invoice WHERE external_id = 'I-3'), 0, 'deleting an answered dispute changes nothing');

-- disputed invoice paid: paid wins
INSERT INTO cobranca.dispute (invoice_id, external_id, opened_on, reason)
SELECT id, 'D-3c', '2026-03-25', 'Terceira' FROM cobranca.invoice WHERE external_id = 'I-3';
INSERT INTO cobranca.payment (invoice_id, external_id, paid_at, amount, method)
SELECT id, 'PG-3', '2026-03-26 12:00-03', 400.00, 'pix' FROM cobranca.invoice WHERE external_id = 'I-3';
SELECT is((SELECT status FROM cobranca.invoice WHERE external_id = 'I-3'), 'paid', 'a paid invoice is paid even with a dispute open');

-- deleting a payment reopens
DELETE FROM cobranca.payment WHERE external_id = 'PG-1b';
SELECT results_eq($$ SELECT status, balance, paid_on, last_payment_on FROM cobranca.invoice WHERE external_id = 'I-1' $$,
                  $$ VALUES ('open'::text, 250.00::numeric, NULL::date, '2026-01-10'::date) $$,
                  'deleting a payment reopens the invoice and recomputes the last payment date');

-- cancellation is final; payments after it are refused; before it they are kept
UPDATE cobranca.invoice SET status = 'cancelled' WHERE external_id = 'I-1';
SELECT isnt((SELECT cancelled_at FROM cobranca.invoice WHERE external_id = 'I-1'), NULL, 'cancelled_at is recorded');
SELECT throws_ok($$ INSERT INTO cobranca.payment (invoice_id, amount, method)
                    SELECT id, 10, 'pix' FROM cobranca.invoice WHERE external_id = 'I-1' $$,
                 '23514', 'payment on a cancelled invoice', 'a payment after cancellation is refused');
SELECT throws_ok($$ UPDATE cobranca.invoice SET status = 'open' WHERE external_id = 'I-1' $$,
                 '23514', 'invoice status cancelled is final', 'cancelled is final');
SELECT lives_ok($$ INSERT INTO cobranca.payment (invoice_id, amount, method, paid_at)
                   SELECT id, 10, 'pix', '2026-01-11 10:00-03' FROM cobranca.invoice WHERE external_id = 'I-1' $$,
                'a payment dated before the cancellation is accepted (late report, restore)');

SELECT * FROM finish();
ROLLBACK;
