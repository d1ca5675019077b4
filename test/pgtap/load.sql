-- Bulk loading through cobranca.<table>_load: an ERP login COPYs rows that
-- land in the tables under its policies, triggers, checks and audit.
BEGIN;
SELECT plan(20);

INSERT INTO cobranca.creditor (name, document, kind, ans_registry, uf)
VALUES ('Load Operadora A', '11.222.333/0001-81', 'health_plan', '123456', 'SP'),
       ('Load Clinica B', '60.574.652/0001-61', 'clinic', NULL, 'RJ');
INSERT INTO cobranca.portfolio (creditor_id, name)
SELECT id, 'LOAD-' || name FROM cobranca.creditor WHERE name LIKE 'Load %';
CREATE ROLE load_t_erp_a LOGIN IN ROLE cobranca_erp;
CREATE ROLE load_t_erp_b LOGIN IN ROLE cobranca_erp;
CREATE ROLE load_t_ana LOGIN IN ROLE cobranca_analyst;
INSERT INTO cobranca.erp_login (login, creditor_id)
SELECT 'load_t_erp_a', id FROM cobranca.creditor WHERE name = 'Load Operadora A'
UNION ALL SELECT 'load_t_erp_b', id FROM cobranca.creditor WHERE name = 'Load Clinica B';
CREATE TEMP TABLE ids AS
SELECT (SELECT id FROM cobranca.creditor WHERE name = 'Load Operadora A') AS cred_a,
       (SELECT id FROM cobranca.portfolio WHERE name = 'LOAD-Load Operadora A') AS pf_a;
GRANT SELECT ON ids TO PUBLIC;

CREATE FUNCTION pg_temp.as_role(r name, q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE res text;
BEGIN
  EXECUTE pg_catalog.format('SET SESSION AUTHORIZATION %I', r);
  BEGIN
    EXECUTE q INTO res;
    res := coalesce(res, 'ok');
  EXCEPTION WHEN OTHERS THEN
    res := 'ERROR ' || SQLSTATE || ': ' || SQLERRM;
  END;
  RESET SESSION AUTHORIZATION;
  RETURN res;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.as_role(name, text) TO PUBLIC;

-- the shape: one loading view per ERP table, with the columns of doc/spec.md §3b
SELECT is((SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_class c
            WHERE c.relnamespace = 'cobranca'::regnamespace AND c.relkind = 'v' AND c.relname LIKE '%\_load'),
          'claim_load,contract_load,dispute_load,hospitalization_load,invoice_load,payer_load,payment_load',
          'a loading view for every table an ERP writes');
SELECT is((SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
            WHERE attrelid = 'cobranca.invoice_load'::regclass AND attnum > 0),
          'payer_id,contract_id,external_id,kind,competence,issued_on,due_on,amount',
          'invoice_load has the columns an ERP writes, none that the extension maintains');
SELECT is((SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
            WHERE attrelid = 'cobranca.payment_load'::regclass AND attnum > 0),
          'invoice_id,external_id,paid_at,amount,method', 'payment_load columns');
SELECT ok(has_table_privilege('cobranca_erp', 'cobranca.payment_load', 'INSERT')
          AND NOT has_table_privilege('cobranca_analyst', 'cobranca.payment_load', 'INSERT')
          AND NOT has_table_privilege('cobranca_analyst', 'cobranca.payment_load', 'SELECT'),
          'ERPs may load; analysts may not');

-- ---- an ERP loads payers, invoices and payments with COPY (psql's \copy, as
-- an ERP would from its own files; the files are written here first)
\pset format csv
\o /tmp/cobranca_load_payers.csv
SELECT pf_a, 'LOAD-P' || n, doc, 'Pagador Carga ' || n
  FROM ids, (VALUES (1, '145.382.206-20'), (2, '12345678909'), (3, '98765432100')) v(n, doc);
\o /tmp/cobranca_load_invoices.csv
SELECT 'LOAD-P' || n, 'LOAD-I' || n, 'private', '2026-01-01', '2026-01-10', 100 * n
  FROM generate_series(1, 3) n;
\o /tmp/cobranca_load_payments.csv
SELECT 'LOAD-I' || n, 'LOAD-PG' || n, 'pix', 30 FROM generate_series(1, 3) n;
\o
\pset format unaligned

SET SESSION AUTHORIZATION load_t_erp_a;
\copy cobranca.payer_load (portfolio_id, external_id, document, name) FROM '/tmp/cobranca_load_payers.csv' (FORMAT csv)
-- invoices and payments name their parents by external_id in the ERP's
-- files; a temporary table of its own maps them to ids
CREATE TEMP TABLE stage_inv (payer_ext text, external_id text, kind text, issued_on date, due_on date, amount numeric);
\copy stage_inv FROM '/tmp/cobranca_load_invoices.csv' (FORMAT csv)
INSERT INTO cobranca.invoice_load (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT p.id, s.external_id, s.kind, s.issued_on, s.due_on, s.amount
  FROM stage_inv s JOIN cobranca.payer p ON p.external_id = s.payer_ext;
CREATE TEMP TABLE stage_pay (invoice_ext text, external_id text, method text, amount numeric);
\copy stage_pay FROM '/tmp/cobranca_load_payments.csv' (FORMAT csv)
CREATE TEMP TABLE stage_pay_ids AS
SELECT i.id AS invoice_id, s.external_id, s.amount, s.method
  FROM stage_pay s JOIN cobranca.invoice i ON i.external_id = s.invoice_ext;
GRANT SELECT ON stage_pay_ids TO PUBLIC;
\pset format csv
\o /tmp/cobranca_load_payments_ids.csv
SELECT * FROM stage_pay_ids;
\o
\pset format unaligned
\copy cobranca.payment_load (invoice_id, external_id, amount, method) FROM '/tmp/cobranca_load_payments_ids.csv' (FORMAT csv)
-- the same file again: nothing new
\copy cobranca.payment_load (invoice_id, external_id, amount, method) FROM '/tmp/cobranca_load_payments_ids.csv' (FORMAT csv)
RESET SESSION AUTHORIZATION;
\! rm -f /tmp/cobranca_load_payers.csv /tmp/cobranca_load_invoices.csv /tmp/cobranca_load_payments.csv /tmp/cobranca_load_payments_ids.csv

SELECT is((SELECT count(*)::int FROM cobranca.payer p, ids
            WHERE p.external_id LIKE 'LOAD-P%' AND p.creditor_id = ids.cred_a AND p.portfolio_id = ids.pf_a),
          3, 'COPY into payer_load: three payers, in the ERP''s creditor');
SELECT is((SELECT string_agg(document || '/' || timezone || '/' || uf || '/' || kind, ' ' ORDER BY external_id)
             FROM cobranca.payer WHERE external_id LIKE 'LOAD-P%'),
          '***.382.206-**/America/Sao_Paulo/SP/person ***.456.789-**/America/Sao_Paulo/SP/person ***.654.321-**/America/Sao_Paulo/SP/person',
          'loaded documents are masked, left-out columns take the table''s defaults');
SELECT is((SELECT count(*)::int FROM cobranca.payer
            WHERE external_id LIKE 'LOAD-P%'
              AND cobranca.document_decrypt(document_cipher) IN ('14538220620', '12345678909', '98765432100')),
          3, 'loaded documents decrypt to what was sent');
SELECT is((SELECT string_agg(external_id || '=' || balance || '/' || status, ' ' ORDER BY external_id)
             FROM cobranca.invoice WHERE external_id LIKE 'LOAD-I%'),
          'LOAD-I1=70.00/open LOAD-I2=170.00/open LOAD-I3=270.00/open',
          'loaded payments lower their invoices'' balances (bookkeeping triggers ran)');
SELECT is((SELECT count(*)::int FROM cobranca.payment WHERE external_id LIKE 'LOAD-PG%'), 3,
          'the file sent twice: each payment once');
SELECT is((SELECT count(*)::int FROM cobranca.payment
            WHERE external_id LIKE 'LOAD-PG%' AND paid_at > now() - interval '1 hour'), 3,
          'paid_at left out takes its default (now)');
SELECT is((SELECT count(*)::int FROM cobranca.audit_log
            WHERE table_name = 'payment' AND operation = 'INSERT'
              AND new_values->>'external_id' LIKE 'LOAD-PG%' AND session_user_name = 'load_t_erp_a'),
          3, 'every loaded payment is audited once, under the ERP login');
SELECT is((SELECT count(*)::int FROM cobranca.payment_load), 0, 'reading a loading view returns nothing');

-- ---- what the tables refuse, the loading views refuse, row for row
SELECT matches(pg_temp.as_role('load_t_erp_a',
            $q$INSERT INTO cobranca.payment_load (invoice_id, external_id, amount, method)
               SELECT invoice_id, external_id || '-neg', -5, method FROM stage_pay_ids$q$),
          '^ERROR 23514: .*payment\.amount',
          'a negative amount in a load: 23514, as for a plain INSERT');
SELECT is((SELECT count(*)::int FROM cobranca.payment WHERE external_id LIKE 'LOAD-PG%'), 3,
          '... and none of the file''s rows was written');
SELECT matches(pg_temp.as_role('load_t_erp_a',
            $q$INSERT INTO cobranca.payment_load (invoice_id, external_id, amount, method)
               SELECT invoice_id, external_id || '-x', 1, 'bitcoin' FROM stage_pay_ids$q$),
          '^ERROR 23514: .*payment\.method.*bitcoin',
          'an unknown payment method in a load is refused');
SELECT matches(pg_temp.as_role('load_t_erp_b',
            pg_catalog.format($q$INSERT INTO cobranca.payment_load (invoice_id, external_id, amount, method)
                                 VALUES (%s, 'LOAD-B-1', 1, 'pix')$q$,
                              (SELECT min(id) FROM cobranca.invoice WHERE external_id LIKE 'LOAD-I%'))),
          '^ERROR 23503',
          'an ERP cannot load a payment for another creditor''s invoice');
SELECT is((SELECT count(*)::int FROM cobranca.payment WHERE external_id = 'LOAD-B-1'), 0,
          '... and nothing was written');
SELECT matches(pg_temp.as_role('load_t_ana',
            $q$INSERT INTO cobranca.claim_load (contract_id, external_id, occurred_on, amount)
               VALUES (1, 'x', '2026-01-01', 1)$q$),
          '^ERROR 42501', 'an analyst may not load');
SELECT matches(pg_temp.as_role('load_t_erp_a',
            $q$INSERT INTO cobranca.invoice_load (payer_id, external_id, kind, issued_on, due_on, amount)
               SELECT id, 'LOAD-BAD', 'private', '2026-02-10', '2026-02-01', 10
                 FROM cobranca.payer WHERE external_id = 'LOAD-P1'$q$),
          '^ERROR 23514: .*invoice\.due_on.*invoice\.issued_on',
          'a due date before the issue date in a load is refused with the table''s message');
SELECT is((SELECT count(*)::int FROM cobranca.invoice WHERE external_id = 'LOAD-BAD'), 0, '... and not written');

SELECT * FROM finish();
ROLLBACK;
