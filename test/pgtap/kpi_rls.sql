-- A supervisor's BI login sees the KPIs of its own portfolios only.
BEGIN;
SELECT plan(9);

INSERT INTO cobranca.creditor (name, document, kind, ans_registry)
VALUES ('Operadora RLS', '44455566600024', 'health_plan', '111111');
INSERT INTO cobranca.portfolio (creditor_id, name)
SELECT id, n FROM cobranca.creditor, (VALUES ('Norte'), ('Sul')) v(n) WHERE document = '44455566600024';
SELECT is(cobranca.refresh_kpis('2026-03-31 12:00-03') >= 2, true, 'snapshots stored for both portfolios');

CREATE ROLE kpi_rls_supervisor LOGIN IN ROLE cobranca_supervisor;
CREATE ROLE kpi_rls_analyst LOGIN IN ROLE cobranca_analyst;
INSERT INTO cobranca.assignment (creditor_id, login, portfolio_id)
SELECT creditor_id, 'kpi_rls_supervisor', id FROM cobranca.portfolio WHERE name = 'Norte';
-- until the roles' grants land, let supervisors read their assignments
GRANT SELECT ON cobranca.assignment TO cobranca_supervisor;

SELECT policies_are('cobranca', 'kpi_snapshot', ARRAY['kpi_snapshot_assigned', 'kpi_snapshot_admin'],
                    'kpi_snapshot policies');
SELECT policy_roles_are('cobranca', 'kpi_snapshot', 'kpi_snapshot_assigned', ARRAY['cobranca_supervisor'],
                        'snapshots are read by supervisors through assignments');
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
RESET ROLE;

SET LOCAL ROLE kpi_rls_analyst;
SELECT throws_ok($$SELECT * FROM cobranca.kpi_portfolio$$, '42501', NULL, 'analysts get no KPIs');
SELECT throws_ok($$SELECT * FROM cobranca.claims_ratio_report$$, '42501', NULL,
                 'analysts get no claims ratio (health data)');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
