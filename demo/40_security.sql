-- Who sees what, a document revealed with a reason, and the audit trail
-- that proves it (all inside one transaction, rolled back at the end).
\set QUIET on
BEGIN;
CREATE ROLE demo_ana LOGIN IN ROLE cobranca_analyst;
CREATE ROLE demo_sup LOGIN IN ROLE cobranca_supervisor;
CREATE ROLE demo_erp LOGIN IN ROLE cobranca_erp;
INSERT INTO cobranca.assignment (login, portfolio_id)
SELECT l, (SELECT min(id) FROM cobranca.portfolio) FROM unnest('{demo_ana,demo_sup}'::name[]) l;
INSERT INTO cobranca.erp_login (login, creditor_id)
SELECT 'demo_erp', creditor_id FROM cobranca.portfolio ORDER BY id DESC LIMIT 1;

\echo == Rows each login sees (row-level security)
CREATE TEMP TABLE seen (login name, payers bigint, invoices bigint, claims text);
GRANT INSERT ON seen TO PUBLIC;
SET SESSION AUTHORIZATION demo_ana;
INSERT INTO seen SELECT current_user, (SELECT count(*) FROM cobranca.payer), (SELECT count(*) FROM cobranca.invoice), 'no access';
SET SESSION AUTHORIZATION demo_sup;
INSERT INTO seen SELECT current_user, (SELECT count(*) FROM cobranca.payer), (SELECT count(*) FROM cobranca.invoice), 'no access';
SET SESSION AUTHORIZATION demo_erp;
INSERT INTO seen SELECT current_user, (SELECT count(*) FROM cobranca.payer), (SELECT count(*) FROM cobranca.invoice),
       (SELECT count(*)::text FROM cobranca.claim);
RESET SESSION AUTHORIZATION;
INSERT INTO seen SELECT 'superuser (all)', (SELECT count(*) FROM cobranca.payer), (SELECT count(*) FROM cobranca.invoice),
       (SELECT count(*)::text FROM cobranca.claim);
SELECT * FROM seen;

\echo == What an analyst sees of a payer: the masked document only
SET SESSION AUTHORIZATION demo_ana;
SELECT id, name, document FROM cobranca.payer ORDER BY id LIMIT 3;
RESET SESSION AUTHORIZATION;

\echo == A supervisor reveals one document, stating why; the access is audited
SET SESSION AUTHORIZATION demo_sup;
SELECT cobranca.reveal_document((SELECT min(id) FROM cobranca.payer), 'chamado 1234: segunda via do boleto') AS document;
RESET SESSION AUTHORIZATION;
SELECT id, logged_at, session_user_name, operation, table_name, row_id, reason
  FROM cobranca.audit_log WHERE operation = 'REVEAL' ORDER BY id DESC LIMIT 1;

\echo == Audit log: rows per table and operation, sealed into per-creditor hash chains
SELECT table_name, operation, count(*) AS rows FROM cobranca.audit_log GROUP BY 1, 2 ORDER BY 1, 2;
SELECT cobranca.audit_seal() AS newly_sealed;
SELECT * FROM cobranca.audit_verify();

\echo == A superuser edits a payment amount in the log behind the triggers, and is caught
ALTER TABLE cobranca.audit_log DISABLE TRIGGER audit_log_append_only;
UPDATE cobranca.audit_log SET new_values = jsonb_set(new_values, '{amount}', '1.00')
 WHERE id = (SELECT min(id) FROM cobranca.audit_log WHERE table_name = 'payment');
ALTER TABLE cobranca.audit_log ENABLE ALWAYS TRIGGER audit_log_append_only;
SELECT * FROM cobranca.audit_verify();
ROLLBACK;
