-- Hostile input: a corpus of bad values for every column an ERP or staff
-- writes, each of which must be refused with a proper SQLSTATE (never
-- XX000), a message naming the field, a detail naming the value (cut short:
-- a 1 MB value is never echoed whole) and nothing written.
--
-- The cases are generated from two small tables: hostile_base holds one
-- good INSERT per table, hostile_col the class of each column (text, date,
-- amount, document ...), and every class has a list of bad values.  Each
-- case is the good INSERT with one column replaced; it runs under its own
-- savepoint, and a digest of every table (audit_log included) is taken
-- before and after it.  Good rows are rolled back too, so the whole corpus
-- leaves the database as it found it.
\set VERBOSITY terse
\set SHOW_CONTEXT never
SET client_min_messages = warning;
BEGIN;
SET LOCAL TimeZone = 'America/Sao_Paulo';
SET LOCAL DateStyle = 'ISO, YMD';
-- ids in messages must not depend on the tests run before this one
ALTER SEQUENCE cobranca.creditor_id_seq RESTART WITH 900001;
ALTER SEQUENCE cobranca.portfolio_id_seq RESTART WITH 900001;
ALTER SEQUENCE cobranca.payer_id_seq RESTART WITH 900001;
ALTER SEQUENCE cobranca.contract_id_seq RESTART WITH 900001;
ALTER SEQUENCE cobranca.invoice_id_seq RESTART WITH 900001;
ALTER SEQUENCE cobranca.default_notice_id_seq RESTART WITH 900001;
ALTER SEQUENCE cobranca.agreement_id_seq RESTART WITH 900001;

-- fixtures: one row of each parent
INSERT INTO cobranca.creditor (name, document, kind, ans_registry, uf, city, pix_key)
VALUES ('Operadora Hostil', '98.765.432/0001-98', 'health_plan', '123456', 'SP', 'São Paulo', 'pix@example.com');
INSERT INTO cobranca.portfolio (creditor_id, name) SELECT id, 'Carteira H' FROM cobranca.creditor WHERE document = '98765432000198';
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name)
SELECT id, 'H-P1', '145.382.206-20', 'Maria Souza' FROM cobranca.portfolio WHERE name = 'Carteira H';
INSERT INTO cobranca.contract (payer_id, external_id, number, plan_name, plan_type, starts_on)
SELECT id, 'H-K1', '0001', 'Plano Ouro', 'individual', '2025-01-01' FROM cobranca.payer WHERE external_id = 'H-P1';
INSERT INTO cobranca.invoice (payer_id, contract_id, external_id, kind, competence, issued_on, due_on, amount)
SELECT p.id, k.id, 'H-I1', 'premium', '2026-01-01', '2025-12-20', '2026-01-10', 500.00
  FROM cobranca.payer p JOIN cobranca.contract k ON k.payer_id = p.id WHERE p.external_id = 'H-P1';
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT p.id, 'H-I3', 'private', '2025-12-20', '2026-01-10', 300.00 FROM cobranca.payer p WHERE p.external_id = 'H-P1';
INSERT INTO cobranca.default_notice (creditor_id, portfolio_id, contract_id, invoice_ids, amount_due, default_since,
                                     drafted_on, body)
SELECT i.creditor_id, i.portfolio_id, i.contract_id, ARRAY[i.id], 500.00, '2026-01-10', '2026-02-14', 'Notificação'
  FROM cobranca.invoice i WHERE i.external_id = 'H-I1';
SELECT cobranca.propose_agreement(ARRAY[id], 2, 0, '2026-03-02', '2026-02-27') IS NOT NULL AS proposed
  FROM cobranca.invoice WHERE external_id = 'H-I1';
CREATE TEMP TABLE fx AS
SELECT c.id AS creditor_id, po.id AS portfolio_id, p.id AS payer_id, k.id AS contract_id, i.id AS invoice_id,
       (SELECT a.id FROM cobranca.agreement a WHERE a.payer_id = p.id) AS agreement_id,
       (SELECT j.id FROM cobranca.invoice j WHERE j.external_id = 'H-I3') AS free_invoice_id
  FROM cobranca.creditor c JOIN cobranca.portfolio po ON po.creditor_id = c.id
  JOIN cobranca.payer p ON p.portfolio_id = po.id JOIN cobranca.contract k ON k.payer_id = p.id
  JOIN cobranca.invoice i ON i.contract_id = k.id
 WHERE i.external_id = 'H-I1';

-- one good row per table: column => value expression (fx gives the parents)
CREATE TEMP TABLE hostile_base (tbl text PRIMARY KEY, vals jsonb NOT NULL);
INSERT INTO hostile_base VALUES
('creditor', '{"name": "''Clínica Boa''", "document": "''13.579.246/0001-01''", "kind": "''clinic''",
  "uf": "''RJ''", "address": "''Rua A, 1''", "city": "''Niterói''", "pix_key": "''13579246000101''",
  "service_phone": "''0800 000 0000''", "service_email": "''sac@example.com''", "service_site": "''https://example.com''",
  "timezone": "''America/Sao_Paulo''", "fine_pct": "2", "interest_month_pct": "1", "notice_day": "35",
  "claims_break_even_pct": "70", "ans_registry": "NULL"}'),
('portfolio', '{"creditor_id": "fx.creditor_id", "name": "''Carteira 2''"}'),
('assignment', '{"portfolio_id": "fx.portfolio_id", "login": "''analista''"}'),
('payer', '{"portfolio_id": "fx.portfolio_id", "external_id": "''H-P2''", "kind": "''person''",
  "document": "''123.456.789-09''", "name": "''João da Silva''", "email": "''joao@example.com''",
  "phone": "''+5511987654321''", "whatsapp": "''11987654321''", "address": "''Rua B, 2''", "uf": "''SP''",
  "timezone": "''America/Manaus''", "opt_out": "''{sms}''"}'),
('contract', '{"payer_id": "fx.payer_id", "external_id": "''H-K2''", "number": "''0002''", "plan_name": "''Plano Prata''",
  "plan_ans_registry": "''123456789''", "plan_type": "''family''", "paid_by_person": "true", "starts_on": "''2025-02-01''",
  "status": "''active''", "status_reason": "NULL"}'),
('hospitalization', '{"contract_id": "fx.contract_id", "external_id": "''H-H1''", "admitted_on": "''2026-01-02''",
  "discharged_on": "''2026-01-05''"}'),
('invoice', '{"payer_id": "fx.payer_id", "contract_id": "fx.contract_id", "external_id": "''H-I2''", "kind": "''premium''",
  "competence": "''2026-02-01''", "issued_on": "''2026-01-20''", "due_on": "''2026-02-10''", "amount": "500.00",
  "status": "''open''"}'),
('payment', '{"invoice_id": "fx.invoice_id", "external_id": "''H-Y1''", "paid_at": "''2026-01-15 10:00-03''",
  "amount": "100.00", "method": "''pix''"}'),
('dispute', '{"invoice_id": "fx.invoice_id", "external_id": "''H-D1''", "opened_on": "''2026-01-12''",
  "reason": "''Valor indevido''", "answered_on": "''2026-01-20''", "outcome": "''rejected''"}'),
('claim', '{"contract_id": "fx.contract_id", "external_id": "''H-S1''", "occurred_on": "''2026-01-03''",
  "amount": "80.00", "category": "''consultation''"}'),
('cadence_rule', '{"creditor_id": "fx.creditor_id", "name": "''D+3 e-mail''", "offset_days": "3", "channel": "''email''",
  "invoice_kinds": "''{premium,copay}''", "min_probability": "0.1", "max_probability": "0.9",
  "template": "''Olá, {{nome}}. Total: {{total}}.''", "active": "true"}'),
('contact', '{"creditor_id": "fx.creditor_id", "portfolio_id": "fx.portfolio_id", "payer_id": "fx.payer_id",
  "invoice_ids": "ARRAY[fx.invoice_id]", "channel": "''phone''", "contact_on": "''2026-01-13''",
  "scheduled_at": "''2026-01-13 10:00-03''", "status": "''done''", "outcome": "''promise_to_pay''",
  "protocol": "''12345620260113000001''", "attempt": "1", "notes": "''Prometeu pagar''"}'),
('default_notice', '{"creditor_id": "fx.creditor_id", "portfolio_id": "fx.portfolio_id", "contract_id": "fx.contract_id",
  "invoice_ids": "ARRAY[fx.invoice_id]", "amount_due": "500.00", "default_since": "''2026-01-10''",
  "drafted_on": "''2026-02-14''", "status": "''void''", "body": "''Notificação''", "channel": "NULL"}'),
('agreement_installment', '{"creditor_id": "fx.creditor_id", "portfolio_id": "fx.portfolio_id",
  "agreement_id": "fx.agreement_id", "n": "3", "due_on": "''2026-05-04''", "amount": "10.00"}'),
('holiday', '{"uf": "''GO''", "month": "10", "day": "24", "easter_offset": "NULL", "name": "''Dia de Goiânia''",
  "law": "''Lei municipal''"}'),
('contact_window', '{"creditor_id": "fx.creditor_id", "uf": "''SP''", "channel": "''sms''", "weekday_from": "''09:00''",
  "weekday_until": "''18:00''", "saturday_from": "NULL", "saturday_until": "NULL", "law": "''política interna''"}'),
('channel_capacity', '{"creditor_id": "fx.creditor_id", "channel": "''phone''", "daily_limit": "100"}'),
('channel_cost', '{"creditor_id": "fx.creditor_id", "channel": "''sms''", "cost": "0.0700"}'),
('score_model', '{"features": "cobranca.score_feature_names()",
  "coefficients": "array_fill(0.1::float8, ARRAY[cardinality(cobranca.score_feature_names()) + 1])",
  "lambda": "1.0", "active": "false"}'),
('erp_login', '{"login": "''erp_h''", "creditor_id": "fx.creditor_id"}');

-- the class of each column written by an ERP or staff (text classes give the limit)
CREATE TEMP TABLE hostile_col (tbl text, col text, class text, lim integer);
INSERT INTO hostile_col VALUES
('creditor', 'name', 'line', 200), ('creditor', 'document', 'cnpj', NULL), ('creditor', 'kind', 'enum', NULL),
('creditor', 'ans_registry', 'digits', 6), ('creditor', 'uf', 'uf', NULL), ('creditor', 'address', 'lines', 500),
('creditor', 'city', 'line', 100), ('creditor', 'pix_key', 'pixkey', 77), ('creditor', 'service_phone', 'line', 60),
('creditor', 'service_email', 'line', 254), ('creditor', 'service_site', 'line', 200), ('creditor', 'timezone', 'tz', NULL),
('creditor', 'fine_pct', 'pct', NULL), ('creditor', 'interest_month_pct', 'pct', NULL), ('creditor', 'notice_day', 'int', NULL),
('creditor', 'claims_break_even_pct', 'pct', NULL),
('portfolio', 'creditor_id', 'fk', NULL), ('portfolio', 'name', 'line', 200),
('assignment', 'portfolio_id', 'fk', NULL),
('payer', 'portfolio_id', 'fk', NULL), ('payer', 'external_id', 'line', 100), ('payer', 'kind', 'enum', NULL),
('payer', 'document', 'cpf', NULL), ('payer', 'name', 'line', 200), ('payer', 'email', 'email', 254),
('payer', 'phone', 'phone', NULL), ('payer', 'whatsapp', 'phone', NULL), ('payer', 'address', 'lines', 500),
('payer', 'uf', 'uf', NULL), ('payer', 'timezone', 'tz', NULL), ('payer', 'opt_out', 'channels', NULL),
('contract', 'payer_id', 'fk', NULL), ('contract', 'external_id', 'line', 100), ('contract', 'number', 'line', 60),
('contract', 'plan_name', 'line', 200), ('contract', 'plan_ans_registry', 'digits', 9), ('contract', 'plan_type', 'enum', NULL),
('contract', 'paid_by_person', 'bool', NULL), ('contract', 'starts_on', 'date', NULL), ('contract', 'status', 'enum', NULL),
('contract', 'status_reason', 'enum', NULL),
('hospitalization', 'contract_id', 'fk', NULL), ('hospitalization', 'external_id', 'line', 100),
('hospitalization', 'admitted_on', 'date', NULL), ('hospitalization', 'discharged_on', 'date', NULL),
('invoice', 'payer_id', 'fk', NULL), ('invoice', 'contract_id', 'fk', NULL), ('invoice', 'external_id', 'line', 100),
('invoice', 'kind', 'enum', NULL), ('invoice', 'competence', 'date', NULL), ('invoice', 'issued_on', 'date', NULL),
('invoice', 'due_on', 'date', NULL), ('invoice', 'amount', 'amount', NULL), ('invoice', 'status', 'enum', NULL),
('payment', 'invoice_id', 'fk', NULL), ('payment', 'external_id', 'line', 100), ('payment', 'paid_at', 'ts', NULL),
('payment', 'amount', 'amount', NULL), ('payment', 'method', 'enum', NULL),
('dispute', 'invoice_id', 'fk', NULL), ('dispute', 'external_id', 'line', 100), ('dispute', 'opened_on', 'date', NULL),
('dispute', 'reason', 'lines', 2000), ('dispute', 'answered_on', 'date', NULL), ('dispute', 'outcome', 'enum', NULL),
('claim', 'contract_id', 'fk', NULL), ('claim', 'external_id', 'line', 100), ('claim', 'occurred_on', 'date', NULL),
('claim', 'amount', 'amount', NULL), ('claim', 'category', 'line', 60),
('cadence_rule', 'name', 'line', 200), ('cadence_rule', 'offset_days', 'int', NULL), ('cadence_rule', 'channel', 'enum', NULL),
('cadence_rule', 'invoice_kinds', 'kinds', NULL), ('cadence_rule', 'min_probability', 'prob', NULL),
('cadence_rule', 'max_probability', 'prob', NULL), ('cadence_rule', 'template', 'template', 4000),
('contact', 'payer_id', 'fk', NULL), ('contact', 'invoice_ids', 'ids', NULL), ('contact', 'channel', 'enum', NULL),
('contact', 'contact_on', 'date', NULL), ('contact', 'scheduled_at', 'ts', NULL), ('contact', 'status', 'enum', NULL),
('contact', 'outcome', 'line', 200), ('contact', 'protocol', 'digits', 20), ('contact', 'attempt', 'int', NULL),
('contact', 'notes', 'lines', 4000),
('default_notice', 'amount_due', 'amount', NULL), ('default_notice', 'status', 'enum', NULL),
('default_notice', 'channel', 'enum', NULL), ('default_notice', 'invoice_ids', 'ids', NULL),
('agreement_installment', 'agreement_id', 'fk', NULL), ('agreement_installment', 'n', 'int', NULL),
('agreement_installment', 'due_on', 'date', NULL), ('agreement_installment', 'amount', 'amount', NULL),
('holiday', 'uf', 'uf', NULL), ('holiday', 'month', 'int', NULL), ('holiday', 'day', 'int', NULL),
('holiday', 'name', 'line', 200), ('holiday', 'law', 'lines', 300),
('contact_window', 'uf', 'uf', NULL), ('contact_window', 'channel', 'enum', NULL), ('contact_window', 'weekday_from', 'time', NULL),
('contact_window', 'law', 'lines', 300),
('channel_capacity', 'channel', 'enum', NULL), ('channel_capacity', 'daily_limit', 'int', NULL),
('channel_cost', 'channel', 'enum', NULL), ('channel_cost', 'cost', 'cost', NULL),
('score_model', 'features', 'features', NULL), ('score_model', 'coefficients', 'floats', NULL),
('erp_login', 'creditor_id', 'fk', NULL),
('agreement_tier', 'min_days_overdue', 'int', NULL), ('agreement_tier', 'max_discount_pct', 'pct', NULL),
('agreement_tier', 'max_installments', 'int', NULL), ('agreement_tier', 'min_first_installment', 'amount', NULL);

-- bad values by class; %s is the column's limit where the class has one
CREATE TEMP TABLE hostile_value (class text, label text, expr text);
INSERT INTO hostile_value VALUES
-- every text-like class
('*text', 'empty', $$''$$),
('*text', '1 MB', $$repeat('x', 1000000)$$),
('*text', 'control characters', $$'a' || chr(1) || chr(27) || '[2J' || chr(127) || 'b'$$),
('*text', 'binary junk', $$(SELECT string_agg(chr(c), '') FROM generate_series(1, 200) c WHERE c NOT IN (9, 10, 13))$$),
('*text', 'invalid UTF-8', $$convert_from('\xc328a0a1'::bytea, 'UTF8')$$),
('line', 'one over the limit', $$repeat('ç', %s + 1)$$),
('line', 'two lines', $$E'linha 1\nlinha 2'$$),
('lines', 'one over the limit', $$repeat('ç', %s + 1)$$),
('template', 'one over the limit', $$repeat('ç', %s + 1)$$),
('template', 'unknown placeholder', $$'{{nome}} {{senha}}'$$),
('template', 'unclosed placeholder', $$'Olá {{nome'$$),
('template', 'health data', $$'Sua internação de {{nome}}'$$),
('digits', 'letters', $$'12345A'$$),
('digits', 'too long', $$repeat('1', %s + 1)$$),
('digits', 'blanks', $$' 123456 '$$),
('email', 'no at sign', $$'joao.example.com'$$),
('email', 'blank inside', $$'jo ao@example.com'$$),
('email', 'too long', $$repeat('a', 250) || '@example.com'$$),
('phone', 'punctuated', $$'(11) 98765-4321'$$),
('phone', 'too short', $$'123'$$),
('phone', 'letters', $$'+55119876543AB'$$),
('pixkey', 'blank inside', $$'pix @example.com'$$),
('pixkey', 'accented', $$'joão@example.com'$$),
('pixkey', 'too long', $$repeat('k', 78)$$),
('enum', 'unknown', $$'bakery'$$),
('enum', 'upper case', $$'SMS'$$),
('enum', 'padded', $$' email '$$),
('enum', 'empty', $$''$$),
('enum', '1 MB', $$repeat('z', 1000000)$$),
('enum', 'SQL', $$'x''); DROP TABLE cobranca.invoice; --'$$),
('uf', 'unknown', $$'XX'$$),
('uf', 'lower case', $$'sp'$$),
('uf', 'full name', $$'São Paulo'$$),
('uf', '1 MB', $$repeat('S', 1000000)$$),
('tz', 'POSIX', $$'BRT3'$$),
('tz', 'unknown', $$'America/Atlantis'$$),
('tz', 'path', $$'../../../../etc/passwd'$$),
('tz', '1 MB', $$repeat('A/', 500000)$$),
('channels', 'unknown', $$'{sms,telegram}'$$),
('channels', 'null element', $$ARRAY['sms', NULL]$$),
('channels', '1 MB element', $$ARRAY[repeat('s', 1000000)]$$),
('kinds', 'unknown', $$'{premium,lottery}'$$),
('kinds', 'empty', $$'{}'$$),
('kinds', 'null element', $$ARRAY['premium', NULL]$$),
('features', 'unknown', $$ARRAY['diagnosis']$$),
('floats', 'NaN', $$array_fill('NaN'::float8, ARRAY[cardinality(cobranca.score_feature_names()) + 1])$$),
('floats', 'Infinity', $$array_fill('Infinity'::float8, ARRAY[cardinality(cobranca.score_feature_names()) + 1])$$),
('floats', 'too few', $$ARRAY[1.0]::float8[]$$),
('cpf', 'all the same', $$'111.111.111-11'$$),
('cpf', 'zeros', $$'00000000000'$$),
('cpf', 'wrong check digit', $$'123.456.789-08'$$),
('cpf', 'letter O for zero', $$'145.382.2O6-20'$$),
('cpf', 'too short', $$'1234567890'$$),
('cpf', 'too long', $$'123456789090'$$),
('cpf', 'inner blanks', $$'123 456 789 09'$$),
('cpf', 'tab', $$E'123.456.789-09\t'$$),
('cpf', 'other punctuation', $$'123*456*789*09'$$),
('cpf', 'fullwidth digits', $$'１２３４５６７８９０９'$$),
('cpf', 'CNPJ given', $$'60.574.652/0001-61'$$),
('cpf', 'masked', $$'***.456.789-**'$$),
('cpf', 'empty', $$''$$),
('cpf', '1 MB', $$repeat('1', 1000000)$$),
('cpf', 'SQL', $$'1''; DELETE FROM cobranca.payer; --'$$),
('cnpj', 'all the same', $$'11.111.111/1111-11'$$),
('cnpj', 'wrong check digit', $$'60.574.652/0001-62'$$),
('cnpj', 'alphanumeric lower case', $$'12abc34501de35'$$),
('cnpj', 'letter in check digit', $$'12ABC34501DE3A'$$),
('cnpj', 'too long', $$'606.574.652/0001-61'$$),
('cnpj', 'too short', $$'6057465200016'$$),
('cnpj', 'CPF given', $$'123.456.789-09'$$),
('cnpj', 'fullwidth digits', $$'６０５７４６５２０００１６１'$$),
('cnpj', 'empty', $$''$$),
('cnpj', '1 MB', $$repeat('9', 1000000)$$),
('date', 'infinity', $$'infinity'$$),
('date', '-infinity', $$'-infinity'$$),
('date', '4713 BC', $$'4713-01-01 BC'$$),
('date', 'year 294276', $$'294276-12-31'$$),
('date', 'year 1899', $$'1899-12-31'$$),
('date', 'year 2100', $$'2100-01-01'$$),
('date', 'February 30', $$'2026-02-30'$$),
('date', 'not a date', $$'amanhã'$$),
('date', 'wrong type', $$42$$),
('ts', 'infinity', $$'infinity'$$),
('ts', '4713 BC', $$'4713-01-01 00:00 BC'$$),
('ts', 'year 294276', $$'294276-12-31 00:00'$$),
('ts', 'year 1800', $$'1800-06-01 12:00-03'$$),
('ts', 'not a time', $$'ontem'$$),
('amount', 'zero', $$0$$),
('amount', 'negative', $$-0.01$$),
('amount', 'rounds to zero', $$0.004$$),
('amount', 'NaN', $$'NaN'$$),
('amount', 'Infinity', $$'Infinity'$$),
('amount', '-Infinity', $$'-Infinity'$$),
('amount', '1e30', $$1e30$$),
('amount', 'one over 10^12', $$1000000000000$$),
('amount', 'float NaN', $$'NaN'::float8$$),
('amount', 'text', $$'R$ 10,00'$$),
('amount', 'wrong type', $$true$$),
('cost', 'negative', $$-1$$),
('cost', 'NaN', $$'NaN'$$),
('cost', 'huge', $$99999999$$),
('pct', 'negative', $$-1$$),
('pct', 'NaN', $$'NaN'$$),
('pct', 'Infinity', $$'Infinity'$$),
('pct', 'over 100', $$100.01$$),
('prob', 'NaN', $$'NaN'$$),
('prob', 'Infinity', $$'Infinity'$$),
('prob', 'negative', $$-0.1$$),
('prob', 'over 1', $$1.5$$),
('int', 'huge', $$2147483648$$),
('int', 'negative', $$-2147483648$$),
('int', 'NaN', $$'NaN'$$),
('int', 'fraction', $$'1.5'$$),
('time', '24:01', $$'24:01'$$),
('time', 'not a time', $$'meio-dia'$$),
('bool', 'maybe', $$'talvez'$$),
('ids', 'empty', $$'{}'::bigint[]$$),
('ids', 'text', $$'{a,b}'$$),
('fk', 'missing', $$999999999$$),
('fk', 'negative', $$-1$$),
('fk', 'text', $$'um'$$),
('fk', 'out of range', $$1e20$$);

-- normalizations, not errors: the document is stored without them
ALTER TABLE hostile_value ADD COLUMN normalized boolean NOT NULL DEFAULT false;
UPDATE hostile_value SET normalized = true
 WHERE (class, label) IN (('cnpj', 'alphanumeric lower case'), ('cpf', 'inner blanks'), ('cpf', 'tab'));

-- the cases: the good row of a table with one column replaced
CREATE TEMP TABLE hostile_case AS
SELECT row_number() OVER (ORDER BY b.tbl, c.col, v.class, v.label) AS n,
       b.tbl || '.' || c.col || ': ' || v.label AS label, v.normalized AS good, b.tbl,
       format('INSERT INTO cobranca.%I (%s) SELECT %s FROM fx',
              b.tbl,
              (SELECT string_agg(quote_ident(k), ', ' ORDER BY k) FROM jsonb_object_keys(b.vals || jsonb_build_object(c.col, '')) k),
              (SELECT string_agg(CASE WHEN k = c.col THEN format(replace(v.expr, '%s', coalesce(c.lim, 0)::text))
                                      ELSE b.vals ->> k END, ', ' ORDER BY k)
                 FROM jsonb_object_keys(b.vals || jsonb_build_object(c.col, '')) k)) AS stmt
  FROM hostile_base b
  JOIN hostile_col c ON c.tbl = b.tbl
  JOIN hostile_value v ON v.class = c.class
                       OR (v.class = '*text' AND c.class IN ('line', 'lines', 'template', 'digits', 'email', 'phone', 'pixkey'));
-- the good rows themselves, which must go in
INSERT INTO hostile_case
SELECT -row_number() OVER (ORDER BY b.tbl), b.tbl || ': the good row', true, b.tbl,
       format('INSERT INTO cobranca.%I (%s) SELECT %s FROM fx', b.tbl,
              (SELECT string_agg(quote_ident(k), ', ' ORDER BY k) FROM jsonb_object_keys(b.vals) k),
              (SELECT string_agg(b.vals ->> k, ', ' ORDER BY k) FROM jsonb_object_keys(b.vals) k))
  FROM hostile_base b;

-- the same through the loading views an ERP COPYs into (17_load.sql): the
-- good row restricted to the view's columns, with a few bad values each
INSERT INTO hostile_case
SELECT 20000 + row_number() OVER (ORDER BY b.tbl, c.col, v.label),
       'load ' || b.tbl || '.' || c.col || ': ' || v.label, false, b.tbl,
       format('INSERT INTO cobranca.%I (%s) SELECT %s FROM fx', b.tbl || '_load',
              (SELECT string_agg(quote_ident(k), ', ' ORDER BY k) FROM unnest(l.cols) k),
              (SELECT string_agg(CASE WHEN k = c.col THEN v.expr ELSE b.vals ->> k END, ', ' ORDER BY k)
                 FROM unnest(l.cols) k))
  FROM hostile_base b
  JOIN LATERAL (SELECT array_agg(a.attname::text) AS cols FROM pg_attribute a
                 WHERE a.attrelid = to_regclass('cobranca.' || b.tbl || '_load') AND a.attnum > 0
                   AND b.vals ? a.attname) l ON l.cols IS NOT NULL
  JOIN hostile_col c ON c.tbl = b.tbl AND c.col = ANY (l.cols)
                      AND c.col IN ('external_id', 'document', 'kind', 'method', 'amount', 'due_on', 'paid_at',
                                    'starts_on', 'admitted_on', 'occurred_on', 'opened_on')
  JOIN hostile_value v ON v.class = c.class AND v.label IN ('1 MB', 'unknown', 'infinity', 'NaN', 'all the same')
                       OR (v.class = '*text' AND v.label = '1 MB' AND c.class = 'line');

-- UPDATEs of the rows already there, with the same bad values (and the
-- agreement tiers, which are only ever updated)
INSERT INTO hostile_case
SELECT 30000 + row_number() OVER (ORDER BY c.tbl, c.col, v.class, v.label),
       'update ' || c.tbl || '.' || c.col || ': ' || v.label, v.normalized, c.tbl,
       format('UPDATE cobranca.%I SET %I = %s WHERE %s', c.tbl, c.col,
              replace(v.expr, '%s', coalesce(c.lim, 0)::text), w.cond)
  FROM hostile_col c
  JOIN (VALUES ('creditor', 'id = (SELECT creditor_id FROM fx)'), ('portfolio', 'id = (SELECT portfolio_id FROM fx)'),
               ('payer', 'id = (SELECT payer_id FROM fx)'), ('contract', 'id = (SELECT contract_id FROM fx)'),
               ('invoice', 'id = (SELECT invoice_id FROM fx)'), ('agreement_tier', 'name = ''bronze''')) AS w(tbl, cond)
    ON w.tbl = c.tbl
  JOIN hostile_value v ON (v.class = c.class AND v.label NOT IN ('empty', 'padded', 'upper case', 'SQL'))
                       OR (v.class = '*text' AND v.label IN ('1 MB', 'control characters', 'empty')
                           AND c.class IN ('line', 'lines', 'template', 'digits', 'email', 'phone', 'pixkey'));

-- evidence, proof and sender data are references, not 1 MB blobs
INSERT INTO hostile_case (n, label, good, tbl, stmt) VALUES
(39001, 'update agreement.evidence: 1 MB', false, 'agreement',
 $$UPDATE cobranca.agreement SET evidence = jsonb_build_object('channel', 'phone', 'recording', repeat('r', 1000000)) WHERE id = (SELECT agreement_id FROM fx)$$),
(39002, 'update default_notice.proof: 1 MB', false, 'default_notice',
 $$UPDATE cobranca.default_notice SET proof = jsonb_build_object('ar', 'AR123', 'scan', repeat('s', 1000000)) WHERE contract_id = (SELECT contract_id FROM fx)$$),
(39003, 'update default_notice.attempts: 1 MB', false, 'default_notice',
 $$UPDATE cobranca.default_notice SET attempts = jsonb_build_array(repeat('a', 1000000)) WHERE contract_id = (SELECT contract_id FROM fx)$$);

-- the functions an ERP, a sender or staff call, with bad arguments
INSERT INTO hostile_case (n, label, good, tbl, stmt)
SELECT 10000 + row_number() OVER (), 'call ' || label, false, NULL, 'SELECT ' || call || ' FROM fx' FROM (VALUES
('pix_payload: 1 MB key', $$cobranca.pix_payload(repeat('k', 1000000), 'Nome', 'Cidade', 10, NULL)$$),
('pix_payload: control character in key', $$cobranca.pix_payload('a' || chr(1) || 'b', 'Nome', 'Cidade', 10, NULL)$$),
('pix_payload: blank in key', $$cobranca.pix_payload('a b@example.com', 'Nome', 'Cidade', 10, NULL)$$),
('pix_payload: NaN amount', $$cobranca.pix_payload('k', 'Nome', 'Cidade', 'NaN', NULL)$$),
('pix_payload: Infinity amount', $$cobranca.pix_payload('k', 'Nome', 'Cidade', 'Infinity', NULL)$$),
('pix_payload: 1e30 amount', $$cobranca.pix_payload('k', 'Nome', 'Cidade', 1e30, NULL)$$),
('pix_payload: amount beyond 13 characters', $$cobranca.pix_payload('k', 'Nome', 'Cidade', 99999999999.99, NULL)$$),
('pix_payload: zero amount', $$cobranca.pix_payload('k', 'Nome', 'Cidade', 0, NULL)$$),
('pix_payload: sub-cent amount', $$cobranca.pix_payload('k', 'Nome', 'Cidade', 0.001, NULL)$$),
('pix_payload: name without letters', $$cobranca.pix_payload('k', '!!! ***', 'Cidade', 1, NULL)$$),
('pix_payload: city of control characters', $$cobranca.pix_payload('k', 'Nome', chr(1) || chr(2), 1, NULL)$$),
('pix_payload: 1 MB txid', $$cobranca.pix_payload('k', 'Nome', 'Cidade', 1, repeat('x', 1000000))$$),
('pix_payload: txid with a dash', $$cobranca.pix_payload('k', 'Nome', 'Cidade', 1, 'ab-c')$$),
('pix_payload: NULL key', $$cobranca.pix_payload(NULL, 'Nome', 'Cidade', 1, NULL)$$),
('boleto_due_date: 1 MB line', $$cobranca.boleto_due_date(repeat('1', 1000000))$$),
('boleto_due_date: letters', $$cobranca.boleto_due_date('0019000009 01149718601 68524522114 6 7586000010265A')$$),
('boleto_due_date: one digit changed', $$cobranca.boleto_due_date('00190000090114971860168524522114675860000102657')$$),
('boleto_due_date: factor below 1000', $$cobranca.boleto_due_date('00190000090114971860168524522114000990000102656')$$),
('render_template: 100 000 openings', $$cobranca.render_template(repeat('{{', 100000), '{}')$$),
('render_template: huge unknown placeholder', $$cobranca.render_template('{{' || repeat('€', 100000) || '}}', '{}')$$),
('render_template: threat', $$cobranca.render_template('Seu nome vai para o SPC, {{nome}}', '{}')$$),
('split_amount: NaN total', $$cobranca.split_amount('NaN', 3)$$),
('split_amount: no installments', $$cobranca.split_amount(100, 0)$$),
('split_amount: 2^31-1 installments', $$cobranca.split_amount(100, 2147483647)$$),
('split_amount: 1e30 total', $$cobranca.split_amount(1e30, 2)$$),
('installment_schedule: infinite first due', $$(SELECT count(*) FROM cobranca.installment_schedule(100, 3, 'infinity'))$$),
('installment_schedule: a million installments', $$(SELECT count(*) FROM cobranca.installment_schedule(100, 1000000, '2026-01-01'))$$),
('late_charges: infinite as_of', $$(cobranca.late_charges(100, '2026-01-01', 'infinity', 2, 1)).total$$),
('late_charges: NaN balance', $$(cobranca.late_charges('NaN', '2026-01-01', '2026-02-01', 2, 1)).total$$),
('late_charges: NaN fine', $$(cobranca.late_charges(100, '2026-01-01', '2026-02-01', 'NaN', 1)).total$$),
('discounted: NaN', $$cobranca.discounted(100, 'NaN')$$),
('discounted: over 100', $$cobranca.discounted(100, 101)$$),
('find_payer: 1 MB', $$cobranca.find_payer(repeat('1', 1000000))$$),
('find_payer: SQL', $$cobranca.find_payer('1''; DROP TABLE cobranca.invoice; --')$$),
('document_normalize: 1 MB kind', $$cobranca.document_normalize(repeat('p', 1000000), '1')$$),
('next_contact_slot: 1 MB time zone', $$cobranca.next_contact_slot(now(), 'sms', repeat('A/', 100000), 'SP')$$),
('next_contact_slot: unknown channel', $$cobranca.next_contact_slot(now(), 'pigeon', 'America/Sao_Paulo', 'SP')$$),
('add_business_days: 2^31-1 days', $$cobranca.add_business_days('2026-01-01', 2147483647, 'SP')$$),
('cadence_day: offset -2^31', $$cobranca.cadence_day('2026-01-01', -2147483648, 'sms', 'SP')$$),
('cadence_day: offset 2^31-1', $$cobranca.cadence_day('2026-01-01', 2147483647, 'sms', 'SP')$$),
('cadence_day: 1 MB uf', $$cobranca.cadence_day('2026-01-01', 1, 'sms', repeat('S', 1000000))$$),
('holidays: year 2^31-1', $$(SELECT count(*) FROM cobranca.holidays(2147483647, 'SP'))$$),
('easter: year -1', $$cobranca.easter(-1)$$),
('generate_contacts: infinity', $$cobranca.generate_contacts('infinity')$$),
('generate_contacts: -infinity', $$cobranca.generate_contacts('-infinity')$$),
('propose_agreement: no installments', $$cobranca.propose_agreement(ARRAY[fx.free_invoice_id], 0)$$),
('propose_agreement: a million installments', $$cobranca.propose_agreement(ARRAY[fx.free_invoice_id], 1000000)$$),
('propose_agreement: NaN discount', $$cobranca.propose_agreement(ARRAY[fx.free_invoice_id], 2, 'NaN')$$),
('propose_agreement: negative discount', $$cobranca.propose_agreement(ARRAY[fx.free_invoice_id], 2, -5)$$),
('propose_agreement: infinite first due', $$cobranca.propose_agreement(ARRAY[fx.free_invoice_id], 2, 0, 'infinity', '2026-02-27')$$),
('propose_agreement: first due in year 294276', $$cobranca.propose_agreement(ARRAY[fx.free_invoice_id], 2, 0, '294276-01-01', '2026-02-27')$$),
('propose_agreement: no invoices', $$cobranca.propose_agreement('{}', 2)$$),
('propose_agreement: unknown invoice', $$cobranca.propose_agreement(ARRAY[999999999::bigint], 2)$$),
('confirm_notice: unknown channel', $$cobranca.confirm_notice((SELECT id FROM cobranca.default_notice WHERE contract_id = fx.contract_id), 'pigeon', '2026-02-20 10:00-03', '{"ar": "x"}')$$),
('confirm_notice: infinite instant', $$cobranca.confirm_notice((SELECT id FROM cobranca.default_notice WHERE contract_id = fx.contract_id), 'letter', 'infinity', '{"ar": "AR123"}')$$),
('confirm_notice: 1 MB proof', $$cobranca.confirm_notice((SELECT id FROM cobranca.default_notice WHERE contract_id = fx.contract_id), 'letter', '2026-02-20 10:00-03', jsonb_build_object('x', repeat('x', 1000000)))$$),
('confirm_notice: 1 MB channel', $$cobranca.confirm_notice((SELECT id FROM cobranca.default_notice WHERE contract_id = fx.contract_id), repeat('c', 1000000), '2026-02-20 10:00-03', '{"ar": "x"}')$$),
('notice_unreachable: 1 MB attempt', $$cobranca.notice_unreachable((SELECT id FROM cobranca.default_notice WHERE contract_id = fx.contract_id), jsonb_build_array(repeat('a', 1000000)))$$),
('notice_unreachable: attempts not an array', $$cobranca.notice_unreachable((SELECT id FROM cobranca.default_notice WHERE contract_id = fx.contract_id), jsonb_build_object('a', repeat('a', 1000000)))$$),
('confirm_notice: proof is an array', $$cobranca.confirm_notice((SELECT id FROM cobranca.default_notice WHERE contract_id = fx.contract_id), 'letter', '2026-02-20 10:00-03', '[1, 2]')$$),
('confirm_notice: unknown notice', $$cobranca.confirm_notice(999999999, 'letter', '2026-02-20 10:00-03', '{"ar": "AR123"}')$$),
('record_contact_result: unknown contact', $$cobranca.record_contact_result(999999999, 'delivered')$$),
('accept_agreement: no evidence', $$cobranca.accept_agreement(fx.agreement_id, '{}')$$),
('accept_agreement: 1 MB evidence string', $$cobranca.accept_agreement(fx.agreement_id, to_jsonb(repeat('e', 1000000)))$$),
('accept_agreement: unknown agreement', $$cobranca.accept_agreement(999999999, '{"channel": "phone"}')$$)
) AS v(label, call);

-- a digest of everything the corpus could touch, taken before and after it;
-- each case also compares the row counts of its table and of audit_log (of
-- every table for a function call) before and after it
CREATE FUNCTION pg_temp.hostile_digest() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  t regclass;
  acc text := '';
  d text;
BEGIN
  FOR t IN SELECT c.oid::regclass FROM pg_class c
            WHERE c.relnamespace = 'cobranca'::regnamespace AND c.relkind = 'r' ORDER BY c.relname
  LOOP
    EXECUTE format('SELECT md5(coalesce(string_agg(x::text, '','' ORDER BY x::text), '''')) FROM %s x', t) INTO d;
    acc := md5(acc || t::text || d);
  END LOOP;
  RETURN acc;
END $$;
CREATE TEMP TABLE hostile_digest AS SELECT pg_temp.hostile_digest() AS before, NULL::text AS after,
       (SELECT count(*) FROM cobranca.audit_log) AS audit_before, NULL::bigint AS audit_after;
CREATE FUNCTION pg_temp.hostile_counts_query(tbl text) RETURNS text LANGUAGE sql AS $$
  SELECT 'SELECT ARRAY[' || string_agg(format('(SELECT count(*) FROM %s)', c.oid::regclass), ', ' ORDER BY c.relname) || ']'
    FROM pg_class c WHERE c.relnamespace = 'cobranca'::regnamespace AND c.relkind IN ('r', 'p')
                      AND (tbl IS NULL OR c.relname IN (tbl, 'audit_log'))
$$;

CREATE TEMP TABLE hostile_result (n bigint, label text, good boolean, state text, message text, detail text,
                                  hint text, written boolean);
DO $$
DECLARE
  c record;
  st text; msg text; det text; hnt text;
  q text;
  before bigint[];
  after bigint[];
BEGIN
  FOR c IN SELECT * FROM hostile_case ORDER BY n LOOP
    q := pg_temp.hostile_counts_query(c.tbl);
    EXECUTE q INTO before;
    BEGIN
      EXECUTE c.stmt;
      -- went in: note it, then undo it like any other case
      RAISE EXCEPTION USING ERRCODE = 'XX999', MESSAGE = 'accepted';
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    END;
    EXECUTE q INTO after;
    INSERT INTO hostile_result
    VALUES (c.n, c.label, c.good, CASE st WHEN 'XX999' THEN 'accepted' ELSE st END,
            CASE st WHEN 'XX999' THEN NULL ELSE msg END, nullif(det, ''), nullif(hnt, ''),
            after IS DISTINCT FROM before);
  END LOOP;
  UPDATE hostile_digest SET after = pg_temp.hostile_digest(), audit_after = (SELECT count(*) FROM cobranca.audit_log);
END $$;

-- every case: SQLSTATE, message, detail, hint (values in messages are cut at 60 characters)
\pset format unaligned
\pset fieldsep ' | '
\pset footer off
SELECT label, state, message, detail, hint FROM hostile_result ORDER BY n;
\pset format aligned
\pset footer on

-- the rules every case must follow
SELECT count(*) AS cases,
       count(*) FILTER (WHERE NOT good AND state = 'accepted') AS bad_accepted,
       count(*) FILTER (WHERE good AND state <> 'accepted') AS good_refused,
       count(*) FILTER (WHERE state IN ('XX000', 'XX001', 'XX002')) AS internal_errors,
       count(*) FILTER (WHERE written) AS partial_writes,
       max(length(message) + coalesce(length(detail), 0) + coalesce(length(hint), 0)) < 1000 AS reports_short,
       -- a CPF or CNPJ sent is never shown in clear, however it was punctuated
       count(*) FILTER (WHERE regexp_replace(concat(message, detail, hint), '[^0-9]', '', 'g')
                              ~ '(12345678909|14538220620|13579246000101|98765432000198)') AS documents_shown
  FROM hostile_result;
-- nothing written: every table (audit_log included) as it was
SELECT before = after AS same_digest, audit_before = audit_after AS same_audit_log FROM hostile_digest;
-- which SQLSTATE classes answered
SELECT left(state, 2) AS class, count(*) FROM hostile_result WHERE NOT good GROUP BY 1 ORDER BY 1;
-- the longest report
SELECT max(length(message)) AS message, max(length(detail)) AS detail, max(length(hint)) AS hint FROM hostile_result;
-- constraint violations always say which field and value (a detail), and
-- come from our checks, not the generic "violates check constraint"
SELECT label, message FROM hostile_result
 WHERE n > 0 AND state = '23514' AND (detail IS NULL OR message LIKE '%violates check constraint%');
-- COPY into a loading view: one bad row refuses the whole file
\set ON_ERROR_ROLLBACK on
SELECT count(*) AS invoices, (SELECT count(*) FROM cobranca.audit_log) AS audit_rows
  FROM cobranca.invoice \gset before_
COPY cobranca.invoice_load (payer_id, external_id, kind, issued_on, due_on, amount) FROM STDIN;
900001	H-C1	private	2026-01-01	2026-01-10	10.00
900001	H-C2	private	2026-01-01	2026-01-10	20.00
900001	H-C3	private	2026-01-01	infinity	30.00
\.
COPY cobranca.invoice_load (payer_id, external_id, kind, issued_on, due_on, amount) FROM STDIN;
900001	H-C4	private	2026-01-01	2026-01-10	10.00
900001	H-C5\001\033[2J	private	2026-01-01	2026-01-10	20.00
\.
COPY cobranca.payment_load (invoice_id, external_id, paid_at, amount, method) FROM STDIN;
900001	H-Y8	2026-01-15 10:00-03	10.00	pix
900001	H-Y9	2026-01-15 10:00-03	NaN	pix
\.
SELECT count(*) = :before_invoices AS invoices_unchanged,
       (SELECT count(*) FROM cobranca.audit_log) = :before_audit_rows AS audit_log_unchanged,
       (SELECT count(*) FROM cobranca.payment WHERE external_id LIKE 'H-Y%') AS payments
  FROM cobranca.invoice;
\set ON_ERROR_ROLLBACK off

-- SQL in text fields is stored as text and never run: the row goes in,
-- reads back byte for byte, is rendered into a message as text, and every
-- table is still there.
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name, address, email)
SELECT portfolio_id, 'H-SQL''; DROP TABLE cobranca.invoice; --', '123.456.789-09',
       'Robert''); DROP TABLE cobranca.payer; --', E'Rua $$ || pg_sleep(10) || $$, 1\n'' OR ''1''=''1',
       'x''--@example.com'
  FROM fx;
INSERT INTO cobranca.cadence_rule (creditor_id, name, offset_days, channel, template)
SELECT creditor_id, '"; DELETE FROM cobranca.contact; --', 5, 'sms', 'Olá {{nome}} ''; SELECT 1; --' FROM fx;
SELECT name = 'Robert''); DROP TABLE cobranca.payer; --' AS name_kept,
       address = E'Rua $$ || pg_sleep(10) || $$, 1\n'' OR ''1''=''1' AS address_kept,
       cobranca.find_payer('123.456.789-09') = id AS found_by_document
  FROM cobranca.payer WHERE external_id = 'H-SQL''; DROP TABLE cobranca.invoice; --';
SELECT cobranca.render_template(r.template, jsonb_build_object('nome', p.name)) AS rendered
  FROM cobranca.cadence_rule r, cobranca.payer p
 WHERE r.name = '"; DELETE FROM cobranca.contact; --' AND p.external_id LIKE 'H-SQL%';
SELECT count(*) AS tables_still_there FROM pg_class
 WHERE relnamespace = 'cobranca'::regnamespace AND relname IN ('invoice', 'payer', 'contact');
ROLLBACK;
