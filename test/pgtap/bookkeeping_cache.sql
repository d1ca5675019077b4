-- What the write path keeps for the backend (the invoice's prepared checks
-- and trigger conditions, the audit capture's column list, the direct read
-- of a parent's tenant) follows every change of the tables in the same
-- session, and the direct read never replaces row-level security.
BEGIN;
SELECT plan(20);
-- no deferred checks pending when the tables are altered below
SET CONSTRAINTS ALL IMMEDIATE;

INSERT INTO cobranca.creditor (name, document, kind, ans_registry, uf)
VALUES ('Cache Operadora A', '11.222.333/0001-81', 'health_plan', '123456', 'SP'),
       ('Cache Clinica B', '60.574.652/0001-61', 'clinic', NULL, 'RJ');
INSERT INTO cobranca.portfolio (creditor_id, name)
SELECT id, 'Cache ' || name FROM cobranca.creditor WHERE name LIKE 'Cache %';
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name)
SELECT p.id, 'CACHE-' || c.kind, CASE c.kind WHEN 'clinic' THEN '987.654.321-00' ELSE '145.382.206-20' END, 'Pagador'
  FROM cobranca.portfolio p JOIN cobranca.creditor c ON c.id = p.creditor_id WHERE c.name LIKE 'Cache %';
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT id, 'CACHE-I-' || external_id, 'private', '2026-01-01', '2026-01-10', 100 FROM cobranca.payer
 WHERE external_id LIKE 'CACHE-%';
CREATE TEMP TABLE ids AS
SELECT (SELECT id FROM cobranca.invoice WHERE external_id = 'CACHE-I-CACHE-health_plan') AS inv_a,
       (SELECT id FROM cobranca.invoice WHERE external_id = 'CACHE-I-CACHE-clinic') AS inv_b,
       (SELECT id FROM cobranca.payer WHERE external_id = 'CACHE-clinic') AS payer_b,
       (SELECT id FROM cobranca.creditor WHERE name = 'Cache Operadora A') AS cred_a;
GRANT SELECT ON ids TO PUBLIC;

-- a first payment: the prepared checks are made
INSERT INTO cobranca.payment (invoice_id, amount, method, paid_at)
SELECT inv_a, 10, 'pix', '2026-01-11 10:00-03' FROM ids;
SELECT is((SELECT balance FROM cobranca.invoice, ids WHERE id = inv_a), 90.00::numeric,
          'a payment moves the balance');

-- a CHECK constraint added afterwards binds the next payment's update
ALTER TABLE cobranca.invoice ADD CONSTRAINT cache_test_cap CHECK (paid_total <= 50) NOT VALID;
SELECT throws_ok($$ INSERT INTO cobranca.payment (invoice_id, amount, method, paid_at)
                    SELECT inv_a, 60, 'pix', '2026-01-12 10:00-03' FROM ids $$,
                 '23514', 'new row for relation "invoice" violates check constraint "cache_test_cap"',
                 'a constraint added in the session is checked by the bookkeeping update');
INSERT INTO cobranca.payment (invoice_id, amount, method, paid_at)
SELECT inv_a, 5, 'pix', '2026-01-12 10:00-03' FROM ids;
SELECT is((SELECT paid_total FROM cobranca.invoice, ids WHERE id = inv_a), 15.00::numeric,
          'a payment within the added constraint passes');
ALTER TABLE cobranca.invoice DROP CONSTRAINT cache_test_cap;
INSERT INTO cobranca.payment (invoice_id, amount, method, paid_at)
SELECT inv_a, 60, 'pix', '2026-01-13 10:00-03' FROM ids;
SELECT is((SELECT paid_total FROM cobranca.invoice, ids WHERE id = inv_a), 75.00::numeric,
          'once the constraint is dropped it no longer binds');

-- a trigger with a WHEN condition added afterwards fires, on its condition only
CREATE TEMP TABLE cache_fired (invoice_id bigint, balance numeric);
CREATE FUNCTION pg_temp.cache_note() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN INSERT INTO cache_fired VALUES (NEW.id, NEW.balance); RETURN NULL; END $$;
CREATE TRIGGER cache_test_low AFTER UPDATE ON cobranca.invoice FOR EACH ROW
  WHEN (NEW.balance < 20 AND NEW.balance > 0) EXECUTE FUNCTION pg_temp.cache_note();
INSERT INTO cobranca.payment (invoice_id, amount, method, paid_at)
SELECT inv_a, 1, 'pix', '2026-01-14 10:00-03' FROM ids;
SELECT is((SELECT count(*)::int FROM cache_fired), 0, 'the new trigger does not fire when its WHEN is false');
INSERT INTO cobranca.payment (invoice_id, amount, method, paid_at)
SELECT inv_a, 10, 'pix', '2026-01-15 10:00-03' FROM ids;
SELECT is((SELECT balance FROM cache_fired), 14.00::numeric, 'the new trigger fires when its WHEN is true');
DROP TRIGGER cache_test_low ON cobranca.invoice;
INSERT INTO cobranca.payment (invoice_id, amount, method, paid_at)
SELECT inv_a, 1, 'pix', '2026-01-16 10:00-03' FROM ids;
SELECT is((SELECT count(*)::int FROM cache_fired), 1, 'a dropped trigger no longer fires');

-- the invoice's own triggers still run on the bookkeeping update
INSERT INTO cobranca.payment (invoice_id, amount, method, paid_at)
SELECT inv_a, 13, 'pix', '2026-01-17 10:00-03' FROM ids;
SELECT is((SELECT status || ' ' || paid_on FROM cobranca.invoice, ids WHERE id = inv_a), 'paid 2026-01-17',
          'the payment that settles the invoice makes it paid on its local date');
SELECT is((SELECT count(*)::int FROM cobranca.audit_log, ids
            WHERE table_name = 'invoice' AND operation = 'UPDATE' AND row_id = inv_a),
          7, 'every bookkeeping update of the invoice is audited');
SELECT is((SELECT new_values->>'status' FROM cobranca.audit_log, ids
            WHERE table_name = 'invoice' AND operation = 'UPDATE' AND row_id = inv_a ORDER BY id DESC LIMIT 1),
          'paid', 'the audit row of the settling update shows the new status');

-- the audit capture follows a column added or dropped in the session
ALTER TABLE cobranca.payment ADD COLUMN cache_note text;
INSERT INTO cobranca.payment (invoice_id, amount, method, paid_at, cache_note)
SELECT inv_b, 1, 'pix', '2026-01-16 10:00-03', 'nota' FROM ids;
SELECT is((SELECT new_values->>'cache_note' FROM cobranca.audit_log
            WHERE table_name = 'payment' ORDER BY id DESC LIMIT 1),
          'nota', 'a column added in the session is in the audit row');
ALTER TABLE cobranca.payment ALTER COLUMN cache_note TYPE integer USING NULL;
INSERT INTO cobranca.payment (invoice_id, amount, method, paid_at, cache_note)
SELECT inv_b, 1, 'pix', '2026-01-16 10:00-03', 42 FROM ids;
SELECT is((SELECT jsonb_typeof(new_values->'cache_note') FROM cobranca.audit_log
            WHERE table_name = 'payment' ORDER BY id DESC LIMIT 1),
          'number', 'a column whose type changed is written with its new type');
ALTER TABLE cobranca.payment DROP COLUMN cache_note;
INSERT INTO cobranca.payment (invoice_id, amount, method, paid_at)
SELECT inv_b, 1, 'pix', '2026-01-16 10:00-03' FROM ids;
SELECT ok((SELECT NOT new_values ? 'cache_note' AND new_values->>'amount' = '1.00'
             FROM cobranca.audit_log WHERE table_name = 'payment' ORDER BY id DESC LIMIT 1),
          'a dropped column leaves the audit row');
SELECT is((SELECT count(*)::int FROM cobranca.payment, ids WHERE invoice_id = inv_b AND creditor_id <> cred_a),
          3, 'payments take the creditor of their invoice');

-- the tenant lookup: direct for the owner, under row-level security for an ERP login
CREATE ROLE cache_t_erp_a LOGIN IN ROLE cobranca_erp;
INSERT INTO cobranca.erp_login (login, creditor_id) SELECT 'cache_t_erp_a', cred_a FROM ids;
SET ROLE cache_t_erp_a;
SELECT throws_ok($$ INSERT INTO cobranca.payment (invoice_id, amount, method) SELECT inv_b, 1, 'pix' FROM ids $$,
                 '23503', NULL, 'ERP: a payment on another creditor''s invoice finds no invoice');
SELECT throws_ok($$ INSERT INTO cobranca.invoice (payer_id, kind, due_on, amount)
                    SELECT payer_b, 'private', '2026-02-10', 10 FROM ids $$,
                 '23503', NULL, 'ERP: an invoice for another creditor''s payer finds no payer');
INSERT INTO cobranca.payment (invoice_id, amount, method, paid_at)
SELECT inv_a, 2, 'pix', '2026-01-18 10:00-03' FROM ids;
SELECT is((SELECT creditor_id FROM cobranca.payment ORDER BY id DESC LIMIT 1), (SELECT cred_a FROM ids),
          'ERP: its own payment takes its creditor');
RESET ROLE;
SELECT is((SELECT credit FROM cobranca.invoice, ids WHERE id = inv_a), 2.00::numeric,
          'ERP: its payment is booked on the invoice');
SELECT throws_ok($$ INSERT INTO cobranca.payment (creditor_id, invoice_id, amount, method)
                    SELECT cred_a, inv_b, 1, 'pix' FROM ids $$,
                 '23514', 'payment.creditor_id does not match its invoice',
                 'owner: a creditor_id that disagrees with the invoice is refused');
SELECT throws_ok($$ INSERT INTO cobranca.payment (invoice_id, amount, method) VALUES (-1, 1, 'pix') $$,
                 '23503', 'payment.invoice_id refers to a invoice that does not exist',
                 'owner: a payment on an unknown invoice is refused');

SELECT * FROM finish();
ROLLBACK;
