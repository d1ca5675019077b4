-- Who a login is: ERP logins are tied to one creditor (cobranca.erp_login);
-- analysts, supervisors and legal work the portfolios of cobranca.assignment.
-- Row-level security, grants and audit triggers are applied to every table
-- by 97_security.sql; the matrix is in doc/security.md.

CREATE TABLE cobranca.erp_login (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  login       name NOT NULL,
  creditor_id bigint NOT NULL REFERENCES cobranca.creditor,
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT erp_login_key UNIQUE (login)
);
CREATE INDEX erp_login_creditor_idx ON cobranca.erp_login (creditor_id);
COMMENT ON TABLE cobranca.erp_login IS
  'The creditor an ERP login (a member of cobranca_erp) writes for: it sees and writes that creditor''s rows only; kept by cobranca_admin';
COMMENT ON COLUMN cobranca.erp_login.login IS 'the login role (current_user) of the ERP';
SELECT pg_catalog.pg_extension_config_dump('cobranca.erp_login', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.erp_login_id_seq', '');

-- Visibility helpers for views and functions that read as their owner (who
-- is not subject to row-level security): they answer for the role calling.
-- Superusers and BYPASSRLS roles see everything, as they do in the tables.
CREATE FUNCTION cobranca.visible_portfolio(portfolio_id bigint) RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS
$$
  SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                  WHERE r.rolname = CURRENT_USER AND (r.rolsuper OR r.rolbypassrls))
      OR EXISTS (SELECT 1 FROM cobranca.assignment a
                  WHERE a.login = CURRENT_USER AND a.portfolio_id = $1)
      OR EXISTS (SELECT 1 FROM cobranca.erp_login e JOIN cobranca.portfolio p ON p.creditor_id = e.creditor_id
                  WHERE e.login = CURRENT_USER AND p.id = $1)
$$;
COMMENT ON FUNCTION cobranca.visible_portfolio(bigint) IS
  'true when the current role may see rows of this portfolio (assigned to it, its ERP''s creditor, or a role that bypasses row-level security): for views that aggregate as their owner';

CREATE FUNCTION cobranca.visible_creditor(creditor_id bigint) RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS
$$
  SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                  WHERE r.rolname = CURRENT_USER AND (r.rolsuper OR r.rolbypassrls))
      OR EXISTS (SELECT 1 FROM cobranca.assignment a
                  WHERE a.login = CURRENT_USER AND a.creditor_id = $1)
      OR EXISTS (SELECT 1 FROM cobranca.erp_login e
                  WHERE e.login = CURRENT_USER AND e.creditor_id = $1)
$$;
COMMENT ON FUNCTION cobranca.visible_creditor(bigint) IS
  'true when the current role works a portfolio of this creditor, is its ERP, or bypasses row-level security: for views that aggregate as their owner';

GRANT EXECUTE ON FUNCTION cobranca.visible_portfolio(bigint), cobranca.visible_creditor(bigint)
  TO cobranca_erp, cobranca_analyst, cobranca_supervisor, cobranca_legal, cobranca_admin;
