-- RN 593 default notice: the rendered text, the refusals (SQLSTATE, detail,
-- hint) and the guard's verdicts at fixed dates.  One transaction, rolled
-- back; ids restarted inside it so that the output does not depend on other
-- tests.
\set VERBOSITY default
\set SHOW_CONTEXT never
\set state '\\echo SQLSTATE :LAST_ERROR_SQLSTATE'
\set ON_ERROR_ROLLBACK on
BEGIN;
ALTER TABLE cobranca.payer ALTER COLUMN id RESTART WITH 60001;
ALTER TABLE cobranca.contract ALTER COLUMN id RESTART WITH 70001;
ALTER TABLE cobranca.default_notice ALTER COLUMN id RESTART WITH 80001;
ALTER TABLE cobranca.invoice ALTER COLUMN id RESTART WITH 90001;
INSERT INTO cobranca.creditor (name, document, kind, ans_registry, address, city, uf, pix_key,
                               service_phone, service_email)
VALUES ('Operadora Bem Viver S.A.', '12.ABC.345/01DE-35', 'health_plan', '334455', 'Rua da Bahia, 500',
        'Belo Horizonte', 'MG', '12ABC34501DE35', '(31) 4000-1234', 'sac@bemviver.example');
INSERT INTO cobranca.portfolio (creditor_id, name)
SELECT id, 'Individuais' FROM cobranca.creditor WHERE document = '12ABC34501DE35';
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name, email, phone, timezone)
SELECT id, 'N1', '987.654.321-00', 'José Pereira', 'jose@example.com', '+5531999990000', 'America/Sao_Paulo'
  FROM cobranca.portfolio WHERE name = 'Individuais';
INSERT INTO cobranca.contract (payer_id, external_id, number, plan_name, plan_ans_registry, plan_type, starts_on)
SELECT id, 'N1', 'BV-2020-0042', 'Bem Viver Apartamento', '471234567', 'family', '2020-03-01'
  FROM cobranca.payer WHERE external_id = 'N1';
INSERT INTO cobranca.invoice (payer_id, contract_id, external_id, kind, competence, issued_on, due_on, amount)
SELECT c.payer_id, c.id, 'N1-' || m, 'premium', make_date(2025 + m / 13, (m - 1) % 12 + 1, 1),
       make_date(2025 + m / 13, (m - 1) % 12 + 1, 1), make_date(2025 + m / 13, (m - 1) % 12 + 1, 5), 1234.56
  FROM cobranca.contract c, generate_series(11, 14) m
 WHERE c.external_id = 'N1';
-- November and December 2025 paid late, January and February 2026 unpaid
INSERT INTO cobranca.payment (invoice_id, paid_at, amount, method)
SELECT id, due_on + 40 + time '10:00', amount, 'boleto' FROM cobranca.invoice
 WHERE external_id IN ('N1-11', 'N1-12');

SELECT contract_id, subject, unpaid_invoice_ids, unpaid_premiums, default_since, days_in_default, amount_due
  FROM cobranca.default_facts('2026-02-15');
SELECT cobranca.generate_notices('2026-02-08') AS day_34, cobranca.generate_notices('2026-02-09') AS day_35;
SELECT id, contract_id, invoice_ids, amount_due, default_since, drafted_on, status, deadline_on
  FROM cobranca.default_notice;
SELECT body FROM cobranca.default_notice \g (format=unaligned tuples_only=on)

-- refusals
SELECT cobranca.confirm_notice(80001, 'sms', '2026-02-10 09:00-03', '{"delivered": true}');
:state
SELECT cobranca.confirm_notice(80001, 'phone', '2026-02-10 09:00-03', '{"recording": "r.wav", "data_confirmed": false}');
:state
SELECT cobranca.confirm_notice(80001, 'telegram', '2026-02-10 09:00-03', '{"reply": "ok"}');
:state
SELECT cobranca.confirm_notice(80001, 'email', '2026-02-01 09:00-03', '{"read_receipt": "x"}');
:state
SELECT cobranca.notice_unreachable(80001, '[{"channel": "email", "at": "2026-02-10T09:00:00-03:00", "result": "bounced"}]');
:state
UPDATE cobranca.default_notice SET deadline_on = '2026-02-11';
:state
UPDATE cobranca.default_notice SET status = 'expired';
:state

-- confirmed by phone at 22:30 in São Paulo (01:30 UTC the next day)
SELECT cobranca.confirm_notice(80001, 'phone', '2026-02-11 01:30+00',
                               '{"recording": "gravacoes/80001.wav", "data_confirmed": true}') AS deadline;
SELECT status, channel, term_start_on, deadline_on, confirmed_by_day_50 FROM cobranca.default_notice;

-- the guard's verdicts
SELECT d AS as_of, k.condition, k.message, k.detail
  FROM unnest(ARRAY[date '2026-02-20', '2026-02-21', '2026-03-06', '2026-03-07']) d
 CROSS JOIN LATERAL cobranca.cancellation_check(70001, 'default', d) k;
INSERT INTO cobranca.hospitalization (contract_id, admitted_on) VALUES (70001, '2026-03-01');
SELECT condition, message, detail FROM cobranca.cancellation_check(70001, 'default', '2026-03-07');
SELECT condition, message, detail FROM cobranca.cancellation_check(70001, 'request', '2026-03-07');
ROLLBACK;
