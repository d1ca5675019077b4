-- The audit log: a row per write with who/what, append-only, hash chains
-- that catch a superuser's edit, retention that keeps what must be kept.
BEGIN;
SELECT plan(35);

INSERT INTO cobranca.creditor (name, document, kind, ans_registry, uf)
VALUES ('Aud Operadora', '44.455.566/6000-24', 'health_plan', '654321', 'SP'),
       ('Aud Clinica', '60.574.652/0001-61', 'clinic', NULL, 'RJ');
INSERT INTO cobranca.portfolio (creditor_id, name) SELECT id, 'P ' || name FROM cobranca.creditor;
CREATE ROLE sec_t_aud_erp LOGIN IN ROLE cobranca_erp;
INSERT INTO cobranca.erp_login (login, creditor_id) SELECT 'sec_t_aud_erp', id FROM cobranca.creditor WHERE name = 'Aud Operadora';
CREATE TEMP TABLE mark AS SELECT COALESCE(max(id), 0) AS last FROM cobranca.audit_log;
GRANT SELECT ON mark TO PUBLIC;

SELECT is(ARRAY(SELECT k.table_name::text FROM cobranca.table_class k
                 WHERE k.class NOT IN ('audit', 'ops', 'custom', 'internal')
                   AND NOT EXISTS (SELECT 1 FROM pg_trigger g
                                    WHERE g.tgrelid = ('cobranca.' || quote_ident(k.table_name))::regclass
                                      AND g.tgname = 'audit_capture' AND g.tgenabled = 'O')
                 ORDER BY 1),
          '{}'::text[], 'every domain table has the audit capture trigger, enabled');

-- writes by the ERP, as it connects
SET SESSION AUTHORIZATION sec_t_aud_erp;
SET application_name = 'erp-sec-test';
INSERT INTO cobranca.payer (portfolio_id, external_id, document, name, email)
SELECT id, 'AUD1', '529.982.247-25', 'Ana Auditada', 'ana@exemplo.com.br' FROM cobranca.portfolio;
UPDATE cobranca.payer SET email = 'ana@novo.com.br' WHERE external_id = 'AUD1';
INSERT INTO cobranca.invoice (payer_id, external_id, kind, due_on, issued_on, amount)
SELECT id, 'AUD-I1', 'private', '2026-02-10', '2026-02-01', 80 FROM cobranca.payer WHERE external_id = 'AUD1';
DELETE FROM cobranca.invoice WHERE external_id = 'AUD-I1';
RESET application_name;
RESET SESSION AUTHORIZATION;

CREATE TEMP TABLE mine AS
SELECT a.* FROM cobranca.audit_log a, mark WHERE a.id > mark.last AND a.session_user_name = 'sec_t_aud_erp' ORDER BY a.id;

SELECT is((SELECT array_agg(table_name || ' ' || operation ORDER BY id) FROM mine),
          '{"payer INSERT","payer UPDATE","invoice INSERT","invoice DELETE"}'::text[],
          'every write of the ERP has its audit row, in order');
SELECT ok((SELECT bool_and(current_user_name = 'sec_t_aud_erp' AND application_name = 'erp-sec-test'
                           AND txid IS NOT NULL AND logged_at IS NOT NULL) FROM mine),
          'who: session and current user, application name, transaction id and time are recorded');
SELECT is((SELECT count(DISTINCT creditor_id)::int FROM mine WHERE creditor_id = (SELECT id FROM cobranca.creditor WHERE name = 'Aud Operadora')),
          1, 'the creditor of each row is recorded');
SELECT is((SELECT row_id FROM mine WHERE table_name = 'payer' AND operation = 'INSERT'),
          (SELECT id FROM cobranca.payer WHERE external_id = 'AUD1'), 'the row id is recorded');
SELECT is((SELECT new_values ->> 'document' FROM mine WHERE table_name = 'payer' AND operation = 'INSERT'),
          '***.982.247-**', 'the document appears masked');
SELECT ok((SELECT NOT (new_values ? 'document_cipher') AND NOT (new_values ? 'document_digest')
             FROM mine WHERE table_name = 'payer' AND operation = 'INSERT'),
          'the ciphertext and the digest are not logged');
SELECT ok((SELECT position('52998224725' IN new_values::text) = 0 FROM mine WHERE table_name = 'payer' AND operation = 'INSERT'),
          'the clear document is nowhere in the logged row');
SELECT is((SELECT old_values ->> 'email' || ' -> ' || (new_values ->> 'email') FROM mine WHERE operation = 'UPDATE'),
          'ana@exemplo.com.br -> ana@novo.com.br', 'an update logs old and new values');
SELECT ok((SELECT NOT (new_values ? 'name') AND NOT (old_values ? 'name') FROM mine WHERE operation = 'UPDATE'),
          'an update logs only the changed columns');
SELECT is((SELECT old_values ->> 'external_id' FROM mine WHERE operation = 'DELETE'), 'AUD-I1',
          'a delete logs the old row');

-- append-only, for everyone including the owner
SELECT throws_ok('UPDATE cobranca.audit_log SET reason = ''x'' WHERE id = (SELECT max(id) FROM cobranca.audit_log)',
                 '42501', 'cobranca.audit_log is append-only: UPDATE is refused', 'UPDATE of the audit log is refused, even to a superuser');
SELECT throws_ok('DELETE FROM cobranca.audit_log', '42501', 'cobranca.audit_log is append-only: DELETE is refused',
                 'DELETE of the audit log is refused');
SELECT throws_ok('TRUNCATE cobranca.audit_log', '42501', 'cobranca.audit_log is append-only: TRUNCATE is refused',
                 'TRUNCATE of the audit log is refused');
SELECT throws_ok('TRUNCATE cobranca.audit_seal', '42501', 'cobranca.audit_seal is append-only: TRUNCATE is refused',
                 'the seals cannot be deleted either');
SET SESSION AUTHORIZATION sec_t_aud_erp;
SELECT throws_ok($$ INSERT INTO cobranca.audit_log (table_name, operation) VALUES ('payer', 'INSERT') $$,
                 '42501', NULL, 'the ERP cannot write audit rows of its own');
SELECT throws_ok('SELECT cobranca.audit_seal()', '42501', NULL, 'the ERP cannot run the seal');
RESET SESSION AUTHORIZATION;

-- the chain
SELECT cmp_ok(cobranca.audit_seal(), '>=', 4::bigint, 'audit_seal seals the pending rows');
SELECT is(cobranca.audit_seal(), 0::bigint, 'a second seal finds nothing pending');
SELECT is((SELECT count(*)::int FROM mine m WHERE NOT EXISTS (SELECT 1 FROM cobranca.audit_seal s WHERE s.audit_id = m.id)),
          0, 'every audit row is sealed');
SELECT results_eq('SELECT ok, first_bad_id FROM cobranca.audit_verify()', $$ VALUES (true, NULL::bigint) $$,
                  'audit_verify: the chains are intact');
SELECT is((SELECT count(DISTINCT s.chain_id)::int FROM cobranca.audit_seal s JOIN mine m ON m.id = s.audit_id), 1,
          'rows of one creditor go to one chain');
SELECT ok((SELECT bool_and(h.seq >= 1 AND length(h.hash) = 64) FROM cobranca.audit_head() h), 'audit_head gives each chain''s head');

-- a superuser edits a sealed row behind the triggers' back
ALTER TABLE cobranca.audit_log DISABLE TRIGGER audit_log_append_only;
UPDATE cobranca.audit_log SET new_values = jsonb_set(new_values, '{email}', '"x@y.z"')
 WHERE id = (SELECT id FROM mine WHERE operation = 'UPDATE');
ALTER TABLE cobranca.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
SELECT results_eq('SELECT ok, first_bad_id FROM cobranca.audit_verify()',
                  'SELECT false, id FROM mine WHERE operation = ''UPDATE''',
                  'audit_verify finds the edited row');

-- and removes a row instead
ALTER TABLE cobranca.audit_log DISABLE TRIGGER audit_log_append_only;
UPDATE cobranca.audit_log SET new_values = m.new_values FROM mine m WHERE m.id = audit_log.id AND m.operation = 'UPDATE';
DELETE FROM cobranca.audit_log WHERE id = (SELECT id FROM mine WHERE table_name = 'invoice' AND operation = 'INSERT');
ALTER TABLE cobranca.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
SELECT results_eq('SELECT ok, first_bad_id FROM cobranca.audit_verify()',
                  'SELECT false, id FROM mine WHERE table_name = ''invoice'' AND operation = ''INSERT''',
                  'audit_verify finds the removed row');
ALTER TABLE cobranca.audit_log DISABLE TRIGGER audit_log_append_only;
INSERT INTO cobranca.audit_log OVERRIDING SYSTEM VALUE SELECT * FROM mine WHERE table_name = 'invoice' AND operation = 'INSERT';
ALTER TABLE cobranca.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
SELECT results_eq('SELECT ok, first_bad_id FROM cobranca.audit_verify()', $$ VALUES (true, NULL::bigint) $$,
                  'restoring the original row makes the chain whole again');

-- TRUNCATE of a domain table leaves a trace
TRUNCATE cobranca.hospitalization;
SELECT is((SELECT operation FROM cobranca.audit_log WHERE table_name = 'hospitalization' ORDER BY id DESC LIMIT 1),
          'TRUNCATE', 'a TRUNCATE of a domain table is logged');

-- retention: a prefix of each chain goes, never the head, never a held creditor
INSERT INTO cobranca.audit_hold (creditor_id, reason)
SELECT id, 'ação judicial 0001234-56.2026' FROM cobranca.creditor WHERE name = 'Aud Operadora';
SELECT is(cobranca.audit_seal(), 2::bigint, 'the TRUNCATE and the hold are sealed');
CREATE TEMP TABLE before_purge AS SELECT s.chain_id, count(*) AS n FROM cobranca.audit_seal s GROUP BY s.chain_id;
SELECT cmp_ok(cobranca.audit_purge(now() + interval '1 day'), '>', 0::bigint, 'audit_purge removes old sealed rows');
SELECT is((SELECT count(*)::int FROM mine m WHERE NOT EXISTS (SELECT 1 FROM cobranca.audit_log a WHERE a.id = m.id)), 0,
          'rows of a creditor under legal hold are kept');
SELECT ok((SELECT bool_and(EXISTS (SELECT 1 FROM cobranca.audit_seal s WHERE s.chain_id = b.chain_id)) FROM before_purge b),
          'every chain keeps at least its newest row');
SELECT throws_ok('DELETE FROM cobranca.audit_seal', '42501', 'cobranca.audit_seal is append-only: DELETE is refused',
                 'outside the purge, sealed rows cannot be deleted');
SELECT results_eq('SELECT ok, first_bad_id FROM cobranca.audit_verify()', $$ VALUES (true, NULL::bigint) $$,
                  'after retention the chains still verify from their first kept row');

-- the job
SELECT is((SELECT function::text FROM cobranca.job WHERE name = 'seal_audit'),
          'cobranca.job_seal_audit(timestamp with time zone)', 'the seal is registered as the job seal_audit');
INSERT INTO cobranca.portfolio (creditor_id, name) SELECT id, 'after purge' FROM cobranca.creditor WHERE name = 'Aud Clinica';
SELECT is(cobranca.job_seal_audit(now()), 1::bigint, 'the job seals what is pending and says how many');

SELECT * FROM finish();
ROLLBACK;
