-- Roles and row-level security: real logins of each group role, what they
-- can and cannot read and write, and attempts to get around it.
BEGIN;
SELECT plan(60);

-- two creditors, three portfolios, one payer in each portfolio
INSERT INTO cobranca.creditor (name, document, kind, ans_registry, uf)
VALUES ('Sec Operadora A', '11.222.333/0001-81', 'health_plan', '123456', 'SP'),
       ('Sec Clinica B', '60.574.652/0001-61', 'clinic', NULL, 'RJ');
INSERT INTO cobranca.portfolio (creditor_id, name)
SELECT c.id, v.name FROM cobranca.creditor c
  JOIN (VALUES ('Sec Operadora A', 'A1'), ('Sec Operadora A', 'A2'), ('Sec Clinica B', 'B1')) v(creditor, name)
    ON v.creditor = c.name;
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name)
SELECT p.id, 'SEC-' || p.name, v.doc, 'Pagador ' || p.name
  FROM cobranca.portfolio p
  JOIN (VALUES ('A1', '145.382.206-20'), ('A2', '123.456.789-09'), ('B1', '987.654.321-00')) v(portfolio, doc)
    ON v.portfolio = p.name;
INSERT INTO cobranca.contract (payer_id, external_id, number, plan_name, plan_type, starts_on)
SELECT id, 'SEC-C-' || external_id, '1', 'Plano', 'individual', '2025-01-01' FROM cobranca.payer
 WHERE external_id LIKE 'SEC-%';
INSERT INTO cobranca.invoice (payer_id, external_id, kind, issued_on, due_on, amount)
SELECT id, 'SEC-I-' || external_id, 'private', '2026-01-01', '2026-01-10', 100 FROM cobranca.payer
 WHERE external_id LIKE 'SEC-%';
INSERT INTO cobranca.payment (invoice_id, external_id, amount, method)
SELECT id, 'SEC-P-' || external_id, 10, 'pix' FROM cobranca.invoice WHERE external_id LIKE 'SEC-I-%';
INSERT INTO cobranca.claim (contract_id, external_id, occurred_on, amount, category)
SELECT id, 'SEC-CL-' || external_id, '2026-01-05', 50, 'exam' FROM cobranca.contract WHERE external_id LIKE 'SEC-C-%';
INSERT INTO cobranca.hospitalization (contract_id, external_id, admitted_on)
SELECT id, 'SEC-H-' || external_id, '2026-01-05' FROM cobranca.contract WHERE external_id LIKE 'SEC-C-%';

-- logins (cluster-wide, so unique names; rolled back with the test)
CREATE ROLE sec_t_erp_a LOGIN IN ROLE cobranca_erp;
CREATE ROLE sec_t_erp_b LOGIN IN ROLE cobranca_erp;
CREATE ROLE sec_t_ana LOGIN IN ROLE cobranca_analyst;
CREATE ROLE sec_t_sup LOGIN IN ROLE cobranca_supervisor;
CREATE ROLE sec_t_legal LOGIN IN ROLE cobranca_legal;
CREATE ROLE sec_t_admin LOGIN IN ROLE cobranca_admin;
CREATE ROLE sec_t_nobody LOGIN;
INSERT INTO cobranca.erp_login (login, creditor_id)
SELECT 'sec_t_erp_a', id FROM cobranca.creditor WHERE name = 'Sec Operadora A'
UNION ALL SELECT 'sec_t_erp_b', id FROM cobranca.creditor WHERE name = 'Sec Clinica B';
INSERT INTO cobranca.assignment (login, portfolio_id)
SELECT l, p.id FROM cobranca.portfolio p, unnest('{sec_t_ana,sec_t_sup,sec_t_legal}'::text[]) l WHERE p.name = 'A1';

CREATE TEMP TABLE ids AS
SELECT (SELECT id FROM cobranca.payer WHERE external_id = 'SEC-A1') AS payer_a1,
       (SELECT id FROM cobranca.payer WHERE external_id = 'SEC-B1') AS payer_b1,
       (SELECT id FROM cobranca.portfolio WHERE name = 'A1') AS pf_a1,
       (SELECT id FROM cobranca.portfolio WHERE name = 'A2') AS pf_a2,
       (SELECT id FROM cobranca.portfolio WHERE name = 'B1') AS pf_b1,
       (SELECT id FROM cobranca.creditor WHERE name = 'Sec Operadora A') AS cred_a;
GRANT SELECT ON ids TO PUBLIC;

-- the shape: every table under forced row-level security, sequences closed
SELECT is((SELECT count(*)::int FROM pg_class c
            WHERE c.relnamespace = 'cobranca'::regnamespace AND c.relkind IN ('r', 'p')
              AND NOT (c.relrowsecurity AND c.relforcerowsecurity)),
          0, 'every table of the schema has row-level security enabled and forced');
SELECT is((SELECT count(*)::int FROM pg_class c
            WHERE c.relnamespace = 'cobranca'::regnamespace AND c.relkind IN ('r', 'p')
              AND NOT c.relispartition	-- a partition takes its table's class
              AND NOT EXISTS (SELECT 1 FROM cobranca.table_class k WHERE k.table_name = c.relname)),
          0, 'every table has a security class');
SELECT is(cobranca.unclassified_tables(), NULL, 'unclassified_tables: none after CREATE EXTENSION');
CREATE TABLE cobranca.sec_t_forgotten (id bigint);
SELECT is(cobranca.unclassified_tables(), 'sec_t_forgotten', 'unclassified_tables names a table added without a class');
DROP TABLE cobranca.sec_t_forgotten;
SELECT policies_are('cobranca', 'payer', ARRAY['erp', 'analyst', 'supervisor', 'legal'],
                    'payer: policies for the ERP and the staff, none for admin');
SELECT policy_roles_are('cobranca', 'payer', 'analyst', ARRAY['cobranca_analyst'], 'payer: the analyst policy is for cobranca_analyst');
SELECT policy_cmd_is('cobranca', 'payer', 'erp', 'all', 'payer: the ERP policy covers every command');
SELECT is((SELECT count(*)::int FROM pg_class c
            WHERE c.relnamespace = 'cobranca'::regnamespace AND c.relkind = 'v'
              AND NOT (COALESCE('security_invoker=true' = ANY (c.reloptions), false)
                       OR COALESCE('security_barrier=true' = ANY (c.reloptions), false))),
          0, 'every view is security_invoker or a security barrier');
-- a view is filtered when its definition, or that of a view it reads from,
-- filters for the reader
SELECT is(ARRAY(WITH RECURSIVE reads(view_oid, rel) AS (
                  SELECT c.oid, c.oid FROM pg_class c
                   WHERE c.relnamespace = 'cobranca'::regnamespace AND c.relkind = 'v'
                  UNION
                  SELECT r.view_oid, d.refobjid
                    FROM reads r JOIN pg_rewrite w ON w.ev_class = r.rel
                    JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = w.oid
                                    AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> r.rel
                    JOIN pg_class v ON v.oid = d.refobjid AND v.relkind = 'v')
                SELECT c.relname::text FROM pg_class c
                 WHERE c.relnamespace = 'cobranca'::regnamespace AND c.relkind = 'v'
                   AND NOT COALESCE('security_invoker=true' = ANY (c.reloptions), false)
                   AND (has_table_privilege('cobranca_erp', c.oid, 'SELECT')
                        OR has_table_privilege('cobranca_analyst', c.oid, 'SELECT')
                        OR has_table_privilege('cobranca_supervisor', c.oid, 'SELECT')
                        OR has_table_privilege('cobranca_legal', c.oid, 'SELECT'))
                   AND NOT EXISTS (SELECT 1 FROM reads r WHERE r.view_oid = c.oid
                                     AND pg_get_viewdef(r.rel) ~* '(visible_portfolio|visible_creditor|current_user)')
                 ORDER BY 1),
          '{}'::text[], 'no view readable by ERP or staff reads as its owner without filtering for the reader');
SELECT ok(NOT has_sequence_privilege('cobranca_erp', 'cobranca.payer_id_seq', 'SELECT')
          AND NOT has_sequence_privilege('cobranca_analyst', 'cobranca.invoice_id_seq', 'USAGE'),
          'identity sequences are not readable by the roles');
SELECT ok(NOT has_column_privilege('cobranca_supervisor', 'cobranca.payer', 'document_cipher', 'SELECT')
          AND NOT has_column_privilege('cobranca_erp', 'cobranca.payer', 'document_cipher', 'SELECT'),
          'no role may select payer.document_cipher');

-- ERP of creditor A
SET SESSION AUTHORIZATION sec_t_erp_a;
SELECT is((SELECT count(*)::int FROM cobranca.creditor), 1, 'ERP: sees its own creditor only');
SELECT is((SELECT count(*)::int FROM cobranca.payer), 2, 'ERP: sees the payers of its creditor (both portfolios)');
SELECT is((SELECT count(*)::int FROM cobranca.invoice), 2, 'ERP: sees the invoices of its creditor');
SELECT is((SELECT count(*)::int FROM cobranca.claim), 2, 'ERP: sees its own claims');
SELECT is((SELECT count(*)::int FROM cobranca.payer WHERE id = (SELECT payer_b1 FROM ids)), 0,
          'ERP: guessing another creditor''s payer id finds nothing');
SELECT lives_ok($$ INSERT INTO cobranca.payer (portfolio_id, external_id, document, name)
                   SELECT pf_a1, 'SEC-ERP-NEW', '529.982.247-25', 'Novo' FROM ids $$,
                'ERP: writes a payer of its creditor');
SELECT throws_ok($$ INSERT INTO cobranca.payer (creditor_id, portfolio_id, external_id, document, name)
                    SELECT cred_a, pf_b1, 'SEC-ERP-BAD', '390.533.447-05', 'Outro' FROM ids $$,
                 '23503', NULL, 'ERP: cannot write a payer into another creditor''s portfolio (it does not see it)');
WITH u AS (UPDATE cobranca.invoice SET amount = 1 WHERE external_id = 'SEC-I-SEC-B1' RETURNING 1)
SELECT is((SELECT count(*)::int FROM u), 0, 'ERP: an update of another creditor''s invoice touches nothing');
SELECT throws_ok($$ UPDATE cobranca.payer SET creditor_id = (SELECT id FROM cobranca.creditor LIMIT 1) + 1000 WHERE external_id = 'SEC-A1' $$,
                 '23514', NULL, 'ERP: cannot move a row out of its creditor');
SELECT throws_ok('SELECT document_cipher FROM cobranca.payer', '42501', NULL, 'ERP: cannot read the ciphertext');
SELECT throws_ok('TABLE cobranca.payer', '42501', NULL, 'ERP: TABLE payer is refused (ciphertext column)');
SELECT throws_ok('SELECT count(*) FROM cobranca.audit_log', '42501', NULL, 'ERP: cannot read the audit log');
SELECT throws_ok('SELECT count(*) FROM cobranca.key_ring', '42501', NULL, 'ERP: cannot read the key ring');
SELECT throws_ok('SELECT cobranca.document_decrypt(''\x00''::bytea)', '42501', NULL, 'ERP: cannot call document_decrypt');
SELECT throws_ok('INSERT INTO cobranca.erp_login (login, creditor_id) SELECT ''sec_t_erp_a'', id FROM cobranca.creditor',
                 '42501', NULL, 'ERP: cannot tie itself to a creditor');
SELECT throws_ok('SET ROLE cobranca_admin', '42501', NULL, 'ERP: cannot SET ROLE to another group');
SELECT throws_ok('SET row_security = off; SELECT count(*) FROM cobranca.invoice', '42501', NULL,
                 'ERP: row_security = off does not switch the filter off');
RESET row_security;
SELECT throws_ok('ALTER TABLE cobranca.invoice DISABLE ROW LEVEL SECURITY', '42501', NULL,
                 'ERP: cannot disable row-level security');
RESET SESSION AUTHORIZATION;

-- ERP of creditor B
SET SESSION AUTHORIZATION sec_t_erp_b;
SELECT is((SELECT array_agg(external_id ORDER BY external_id) FROM cobranca.payer), '{SEC-B1}'::text[],
          'ERP B: sees only its payer');
SELECT is(cobranca.find_payer('145.382.206-20'), NULL, 'ERP B: find_payer does not find another creditor''s payer');
RESET SESSION AUTHORIZATION;

-- analyst of portfolio A1
SET SESSION AUTHORIZATION sec_t_ana;
SELECT is((SELECT array_agg(external_id ORDER BY external_id) FROM cobranca.payer), '{SEC-A1,SEC-ERP-NEW}'::text[],
          'analyst: sees the payers of its portfolio only');
SELECT is((SELECT document FROM cobranca.payer WHERE external_id = 'SEC-A1'), '***.382.206-**', 'analyst: sees the masked document');
SELECT is((SELECT count(*)::int FROM cobranca.invoice), 1, 'analyst: sees the invoices of its portfolio');
SELECT is((SELECT count(*)::int FROM cobranca.payment), 1, 'analyst: sees the payments of its portfolio (through the invoice)');
SELECT is((SELECT count(*)::int FROM cobranca.portfolio), 1, 'analyst: sees its portfolio only');
SELECT is((SELECT count(*)::int FROM cobranca.assignment), 1, 'analyst: sees its own assignment only');
SELECT is(cobranca.find_payer('14538220620'), (SELECT payer_a1 FROM ids), 'analyst: find_payer finds a payer of its portfolio');
SELECT is(cobranca.find_payer('987.654.321-00'), NULL, 'analyst: find_payer does not find a payer outside its portfolios');
SELECT ok(NOT cobranca.visible_portfolio((SELECT pf_a2 FROM ids)), 'analyst: visible_portfolio is false for another portfolio');
SELECT throws_ok('SELECT count(*) FROM cobranca.claim', '42501', NULL, 'analyst: no claims');
SELECT throws_ok('SELECT count(*) FROM cobranca.hospitalization', '42501', NULL, 'analyst: no hospitalizations');
SELECT throws_ok('SELECT count(*) FROM cobranca.audit_log', '42501', NULL, 'analyst: no audit log');
SELECT throws_ok('SELECT document_cipher FROM cobranca.payer', '42501', NULL, 'analyst: no raw documents');
SELECT throws_ok($$ SELECT cobranca.reveal_document((SELECT payer_a1 FROM ids), 'curiosity') $$, '42501', NULL,
                 'analyst: cannot reveal a document');
SELECT throws_ok($$ INSERT INTO cobranca.cadence_rule (name, offset_days, channel) VALUES ('x', 1, 'sms') $$,
                 '42501', NULL, 'analyst: cannot change the cadence');
SELECT throws_ok($$ INSERT INTO cobranca.assignment (login, portfolio_id) SELECT 'sec_t_ana', pf_b1 FROM ids $$,
                 '42501', NULL, 'analyst: cannot assign itself a portfolio');
RESET SESSION AUTHORIZATION;

-- supervisor of A1: reveal with a reason, audited
SET SESSION AUTHORIZATION sec_t_sup;
SELECT is(cobranca.reveal_document((SELECT payer_a1 FROM ids), 'ticket 4711: payer asked for a copy'),
          '14538220620', 'supervisor: reveals the document of a payer of its portfolio');
SELECT throws_ok($$ SELECT cobranca.reveal_document((SELECT payer_a1 FROM ids), '  ') $$, '22023', NULL,
                 'supervisor: an empty reason is refused');
SELECT throws_ok($$ SELECT cobranca.reveal_document((SELECT payer_b1 FROM ids), 'fishing') $$, 'P0002', NULL,
                 'supervisor: a payer outside its portfolios is not found');
SELECT throws_ok('SELECT count(*) FROM cobranca.claim', '42501', NULL, 'supervisor: no raw claims');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT session_user_name || ' ' || operation || ' ' || reason FROM cobranca.audit_log
            WHERE table_name = 'payer' AND row_id = (SELECT payer_a1 FROM ids) AND operation = 'REVEAL'),
          'sec_t_sup REVEAL ticket 4711: payer asked for a copy', 'the reveal is in the audit log with who and why');

-- legal of A1
SELECT ok(cobranca.audit_seal() > 0, 'the audit rows so far are sealed');
SET SESSION AUTHORIZATION sec_t_legal;
SELECT ok((SELECT count(*) > 0 AND bool_and(chain_id = (SELECT cred_a FROM ids)) FROM cobranca.audit_head()),
          'legal: audit_head shows the chains of its creditor only');
SELECT ok((SELECT count(*) > 0 AND bool_and(creditor_id = (SELECT cred_a FROM ids)) FROM cobranca.audit_log),
          'legal: reads the audit log of its creditor only');
SELECT is((SELECT count(*)::int FROM cobranca.contract), 1, 'legal: sees the contracts of its portfolio');
SELECT throws_ok('SELECT count(*) FROM cobranca.payment', '42501', NULL, 'legal: no payments');
RESET SESSION AUTHORIZATION;

-- admin
SET SESSION AUTHORIZATION sec_t_admin;
SELECT lives_ok($$ INSERT INTO cobranca.cadence_rule (name, offset_days, channel) VALUES ('sec test', 7, 'email') $$,
                'admin: edits the cadence');
SELECT throws_ok('SELECT count(*) FROM cobranca.invoice', '42501', NULL, 'admin: no payer data');
RESET SESSION AUTHORIZATION;

-- a login without a group
SET SESSION AUTHORIZATION sec_t_nobody;
SELECT throws_ok('SELECT count(*) FROM cobranca.creditor', '42501', NULL, 'a login without a cobranca role reads nothing');
RESET SESSION AUTHORIZATION;

SELECT * FROM finish();
ROLLBACK;
