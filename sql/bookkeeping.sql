-- Invoice bookkeeping as an ERP sees it: partial, full and over payment,
-- disputes, ERP re-sends, cancellation.
\set SHOW_CONTEXT never
BEGIN;
INSERT INTO cobranca.creditor (name, document, kind, ans_registry, uf)
VALUES ('Operadora Teste', '11.222.333/0001-81', 'health_plan', '123456', 'SP');
INSERT INTO cobranca.portfolio (creditor_id, name) SELECT id, 'Carteira' FROM cobranca.creditor;
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name, timezone)
SELECT id, 'P1', '145.382.206-20', 'Maria Souza', 'America/Manaus' FROM cobranca.portfolio;
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT id, 'I1', 'private', '2026-01-01', '2026-01-10', 300.00 FROM cobranca.payer;

CREATE TEMP VIEW inv AS
SELECT external_id, status, amount, paid_total, balance, credit, last_payment_on, paid_on,
       open_disputes, creditor_id IS NOT NULL AS has_creditor, portfolio_id IS NOT NULL AS has_portfolio
  FROM cobranca.invoice ORDER BY external_id;

TABLE inv;
-- partial payment
INSERT INTO cobranca.payment (invoice_id, external_id, paid_at, amount, method)
SELECT id, 'PG1', '2026-01-12 10:00-03', 100.00, 'pix' FROM cobranca.invoice;
TABLE inv;
-- the ERP re-sends the same payment: no double count
INSERT INTO cobranca.payment (invoice_id, external_id, paid_at, amount, method)
SELECT id, 'PG1', '2026-01-12 10:00-03', 100.00, 'pix' FROM cobranca.invoice
ON CONFLICT (creditor_id, external_id) DO NOTHING;
TABLE inv;
-- the rest, at 00:30 in São Paulo, which is still the 19th in Manaus
INSERT INTO cobranca.payment (invoice_id, external_id, paid_at, amount, method)
SELECT id, 'PG2', '2026-01-20 00:30-03', 200.00, 'boleto' FROM cobranca.invoice;
TABLE inv;
-- paid twice by mistake: the overpayment is kept as credit
INSERT INTO cobranca.payment (invoice_id, external_id, paid_at, amount, method)
SELECT id, 'PG3', '2026-01-21 09:00-03', 200.00, 'pix' FROM cobranca.invoice;
TABLE inv;
-- the duplicate is reversed by the ERP
DELETE FROM cobranca.payment WHERE external_id = 'PG3';
TABLE inv;
-- the amount is corrected upwards: open again
UPDATE cobranca.invoice SET amount = 350.00;
TABLE inv;
-- a dispute suspends it; answering it restores the derived status
INSERT INTO cobranca.dispute (invoice_id, external_id, opened_on, reason)
SELECT id, 'D1', '2026-01-25', 'Valor do reajuste contestado' FROM cobranca.invoice;
TABLE inv;
UPDATE cobranca.dispute SET answered_on = '2026-02-02', outcome = 'rejected';
TABLE inv;
-- an ERP re-sending the invoice with ON CONFLICT updates it in place
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT id, 'I1', 'private', '2026-01-01', '2026-01-10', 300.00 FROM cobranca.payer
ON CONFLICT (creditor_id, external_id) DO UPDATE SET amount = EXCLUDED.amount;
TABLE inv;
-- written off is final
UPDATE cobranca.invoice SET status = 'written_off';
\set VERBOSITY terse
SAVEPOINT final;
UPDATE cobranca.invoice SET status = 'open';
ROLLBACK TO SAVEPOINT final;
TABLE inv;
ROLLBACK;
