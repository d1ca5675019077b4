-- Bad input: each row below is refused with a clear error (SQLSTATE, detail
-- naming the field and value, hint) and nothing is written.
-- Everything runs in one transaction rolled back at the end, each statement
-- under its own implicit savepoint.
\set VERBOSITY default
\set SHOW_CONTEXT never
\set state '\\echo SQLSTATE :LAST_ERROR_SQLSTATE'
\set ON_ERROR_ROLLBACK on
BEGIN;
INSERT INTO cobranca.creditor (name, document, kind, ans_registry, uf)
VALUES ('Operadora Teste', '11.222.333/0001-81', 'health_plan', '123456', 'SP');
INSERT INTO cobranca.portfolio (creditor_id, name)
SELECT id, 'Carteira' FROM cobranca.creditor;
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name)
SELECT id, 'P1', '145.382.206-20', 'Maria Souza' FROM cobranca.portfolio;
INSERT INTO cobranca.contract (payer_id, external_id, number, plan_name, plan_type, starts_on)
SELECT id, 'C1', '0001', 'Plano Ouro', 'individual', '2025-01-01' FROM cobranca.payer;
INSERT INTO cobranca.invoice (payer_id, contract_id, external_id, kind, competence, issued_on, due_on, amount)
SELECT p.id, c.id, 'I1', 'premium', '2026-01-01', '2025-12-20', '2026-01-10', 500.00
  FROM cobranca.payer p JOIN cobranca.contract c ON c.payer_id = p.id;

-- creditor: invalid CNPJ, unknown kind, UF that is not a state, caps
INSERT INTO cobranca.creditor (name, document, kind) VALUES ('X', '11.222.333/0001-82', 'clinic');
:state
INSERT INTO cobranca.creditor (name, document, kind) VALUES ('X', '60.574.652/0001-61', 'bakery');
:state
INSERT INTO cobranca.creditor (name, document, kind, uf) VALUES ('X', '60.574.652/0001-61', 'clinic', 'XX');
:state
INSERT INTO cobranca.creditor (name, document, kind, fine_pct) VALUES ('X', '60.574.652/0001-61', 'clinic', 2.5);
:state
INSERT INTO cobranca.creditor (name, document, kind, timezone) VALUES ('X', '60.574.652/0001-61', 'clinic', 'Mars/Olympus');
:state

-- payer: invalid CPF, malformed CPF, CNPJ for a person, bad UF, bad time zone, unknown channel
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name)
SELECT id, 'P2', '145.382.206-21', 'João' FROM cobranca.portfolio;
:state
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name)
SELECT id, 'P2', '145.382.206', 'João' FROM cobranca.portfolio;
:state
INSERT INTO cobranca.payer (portfolio_id, external_id, kind, document, name)
SELECT id, 'P2', 'company', '145.382.206-20', 'João' FROM cobranca.portfolio;
:state
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name, uf)
SELECT id, 'P2', '123.456.789-09', 'João', 'sp' FROM cobranca.portfolio;
:state
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name, timezone)
SELECT id, 'P2', '123.456.789-09', 'João', 'BRT3' FROM cobranca.portfolio;
:state
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name, opt_out)
SELECT id, 'P2', '123.456.789-09', 'João', '{sms,telegram}' FROM cobranca.portfolio;
:state
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name)
VALUES (999999, 'P2', '123.456.789-09', 'João');
:state

-- invoice: amount zero, negative and NaN, due before issue, unknown kind, unknown status
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT id, 'I2', 'private', '2026-01-01', '2026-01-10', 0 FROM cobranca.payer;
:state
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT id, 'I2', 'private', '2026-01-01', '2026-01-10', -10.00 FROM cobranca.payer;
:state
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT id, 'I2', 'private', '2026-01-01', '2026-01-10', 'NaN' FROM cobranca.payer;
:state
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT id, 'I2', 'private', '2026-01-10', '2026-01-01', 10.00 FROM cobranca.payer;
:state
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT id, 'I2', 'lottery', '2026-01-01', '2026-01-10', 10.00 FROM cobranca.payer;
:state
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount, status)
SELECT id, 'I2', 'private', '2026-01-01', '2026-01-10', 10.00, 'forgiven' FROM cobranca.payer;
:state
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT id, 'I2', 'premium', '2026-01-01', '2026-01-10', 10.00 FROM cobranca.payer;
:state

-- payment: unknown method, non-positive amount, on a cancelled invoice
INSERT INTO cobranca.payment (invoice_id, amount, method)
SELECT id, 10.00, 'bitcoin' FROM cobranca.invoice;
:state
INSERT INTO cobranca.payment (invoice_id, amount, method)
SELECT id, -1.00, 'pix' FROM cobranca.invoice;
:state
SAVEPOINT cancelled;
UPDATE cobranca.invoice SET status = 'cancelled';
\set VERBOSITY terse
INSERT INTO cobranca.payment (invoice_id, amount, method)
SELECT id, 100.00, 'pix' FROM cobranca.invoice;
:state
UPDATE cobranca.invoice SET status = 'open';
:state
\set VERBOSITY default
ROLLBACK TO SAVEPOINT cancelled;

-- contact: unknown channel; cadence rule: unknown channel
INSERT INTO cobranca.contact (creditor_id, portfolio_id, payer_id, invoice_ids, channel, contact_on, scheduled_at)
SELECT p.creditor_id, p.portfolio_id, p.id, ARRAY[i.id], 'pigeon', '2026-01-12', '2026-01-12 10:00-03'
  FROM cobranca.payer p JOIN cobranca.invoice i ON i.payer_id = p.id;
:state
INSERT INTO cobranca.cadence_rule (name, offset_days, channel) VALUES ('D+3', 3, 'fax');
:state

-- dispute answered before it was opened
INSERT INTO cobranca.dispute (invoice_id, opened_on, reason, answered_on, outcome)
SELECT id, '2026-02-01', 'Valor indevido', '2026-01-01', 'rejected' FROM cobranca.invoice;
:state

-- writing maintained columns directly
\set VERBOSITY terse
UPDATE cobranca.invoice SET paid_total = 500.00;
:state

\set VERBOSITY terse
-- nothing above was written
SELECT (SELECT count(*) FROM cobranca.creditor) AS creditors,
       (SELECT count(*) FROM cobranca.payer) AS payers,
       (SELECT count(*) FROM cobranca.invoice) AS invoices,
       (SELECT count(*) FROM cobranca.payment) AS payments,
       (SELECT count(*) FROM cobranca.dispute) AS disputes,
       (SELECT count(*) FROM cobranca.contact) AS contacts;
SELECT status, balance, paid_total, cancelled_at IS NULL AS never_cancelled FROM cobranca.invoice;
ROLLBACK;
