-- A supervisor's BI login sees the KPIs of its own portfolios only.
BEGIN;
SELECT plan(13);

INSERT INTO cobranca.creditor (name, document, kind, ans_registry)
VALUES ('Operadora RLS', '44455566600024', 'health_plan', '111111');
INSERT INTO cobranca.portfolio (creditor_id, name)
SELECT id, n FROM cobranca.creditor, (VALUES ('Norte'), ('Sul')) v(n) WHERE document = '44455566600024';
SELECT is(cobranca.refresh_kpis('2026-03-31 12:00-03') >= 2, true, 'snapshots stored for both portfolios');

-- one contract with a claim and a premium paid in each portfolio
SET LOCAL session_replication_role = replica;
INSERT INTO cobranca.payer (creditor_id, portfolio_id, external_id, document, name)
SELECT p.creditor_id, p.id, p.name, v.doc, p.name
  FROM cobranca.portfolio p
  JOIN (VALUES ('Norte', '14538220620'), ('Sul', '12345678909')) v(name, doc) ON v.name = p.name
 WHERE p.creditor_id = (SELECT id FROM cobranca.creditor WHERE document = '44455566600024');
INSERT INTO cobranca.contract (creditor_id, portfolio_id, payer_id, external_id, number, plan_name,
                               plan_type, starts_on)
SELECT y.creditor_id, y.portfolio_id, y.id, y.name, 'RLS-' || y.name, 'Plano', 'individual', '2025-01-01'
  FROM cobranca.payer y
 WHERE y.creditor_id = (SELECT id FROM cobranca.creditor WHERE document = '44455566600024');
INSERT INTO cobranca.invoice (creditor_id, portfolio_id, payer_id, contract_id, external_id, kind,
                              competence, issued_on, due_on, amount, status, paid_on)
SELECT k.creditor_id, k.portfolio_id, k.payer_id, k.id, k.external_id, 'premium',
       '2025-02-01', '2025-01-25', '2025-02-10', 500.00, 'paid', '2025-02-10'
  FROM cobranca.contract k WHERE k.number LIKE 'RLS-%';
INSERT INTO cobranca.payment (creditor_id, invoice_id, external_id, paid_at, amount, method)
SELECT i.creditor_id, i.id, i.external_id, '2025-02-10 10:00-03', 500.00, 'pix'
  FROM cobranca.invoice i JOIN cobranca.contract k ON k.id = i.contract_id WHERE k.number LIKE 'RLS-%';
INSERT INTO cobranca.claim (creditor_id, contract_id, external_id, occurred_on, amount)
SELECT k.creditor_id, k.id, k.external_id, '2025-02-15', 350.00
  FROM cobranca.contract k WHERE k.number LIKE 'RLS-%';
RESET session_replication_role;

CREATE ROLE kpi_rls_supervisor LOGIN IN ROLE cobranca_supervisor;
CREATE ROLE kpi_rls_analyst LOGIN IN ROLE cobranca_analyst;
INSERT INTO cobranca.assignment (creditor_id, login, portfolio_id)
SELECT creditor_id, 'kpi_rls_supervisor', id FROM cobranca.portfolio WHERE name = 'Norte';
SELECT ok((SELECT relrowsecurity AND relforcerowsecurity FROM pg_class
            WHERE oid = 'cobranca.kpi_snapshot'::regclass), 'kpi_snapshot has row-level security, forced');
SELECT policies_are('cobranca', 'kpi_snapshot', ARRAY['supervisor'], 'kpi_snapshot: one policy');
SELECT policy_roles_are('cobranca', 'kpi_snapshot', 'supervisor', ARRAY['cobranca_supervisor'],
                        'snapshots are read by supervisors');
SELECT ok((SELECT 'security_invoker=true' = ANY (reloptions) FROM pg_class
            WHERE oid = 'cobranca.kpi_portfolio'::regclass), 'kpi_portfolio is security_invoker');

SELECT id AS creditor_id FROM cobranca.creditor WHERE document = '44455566600024' \gset
SET LOCAL ROLE kpi_rls_supervisor;
SELECT results_eq(format('SELECT portfolio_name FROM cobranca.kpi_portfolio WHERE creditor_id = %s', :creditor_id),
                  $$VALUES ('Norte'::text)$$, 'the supervisor sees its portfolio''s KPIs only');
SELECT results_eq($$SELECT count(*) FROM cobranca.kpi_snapshot$$, $$VALUES (1::bigint)$$,
                  'and only its snapshot rows');
SELECT throws_ok($$SELECT cobranca.refresh_kpis(now())$$, '42501', NULL,
                 'a supervisor cannot run the refresh');
SELECT results_eq($$SELECT contract_number, claims_ratio_pct FROM cobranca.claims_ratio_report
                     WHERE month = '2025-02-01'$$,
                  $$VALUES ('RLS-Norte'::text, 70.00::numeric)$$,
                  'the supervisor sees the claims ratio of its portfolio''s contracts only');
SELECT results_eq($$SELECT count(*) FROM cobranca.claims_premiums_monthly$$, $$VALUES (1::bigint)$$,
                  'and only their monthly claims and premiums');
SELECT throws_ok($$SELECT * FROM cobranca.claim$$, '42501', NULL,
                 'while claims themselves stay out of its reach');
RESET ROLE;

SET LOCAL ROLE kpi_rls_analyst;
SELECT throws_ok($$SELECT * FROM cobranca.kpi_portfolio$$, '42501', NULL, 'analysts get no KPIs');
SELECT throws_ok($$SELECT * FROM cobranca.claims_ratio_report$$, '42501', NULL,
                 'analysts get no claims ratio (health data)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
