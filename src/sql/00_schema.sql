-- Schema and group roles.
--
-- The schema itself is created by CREATE EXTENSION (schema = cobranca in the
-- control file).  Roles are cluster-wide objects: they are created only when
-- missing, are not members of the extension and survive DROP EXTENSION, so
-- that grants made to logins are not lost on a reinstall.

COMMENT ON SCHEMA cobranca IS
  'cobranca: collection of overdue health-plan, clinic and hospital bills (see SPEC.md and doc/)';

DO $roles$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT * FROM (VALUES
      ('cobranca_erp',        'ERP and billing systems: write invoices, payments, disputes and claims of their own creditor'),
      ('cobranca_analyst',    'Collection analysts: work the worklist of their assigned portfolios; masked documents, no health data'),
      ('cobranca_supervisor', 'Collection supervisors: their portfolios, KPIs, agreement approval, document reveal with a reason'),
      ('cobranca_legal',      'Legal team: default notices, contracts, invoices of their portfolios and the audit log'),
      ('cobranca_admin',      'Administrators: creditors, portfolios, assignments, cadence rules, tiers and windows'))
    AS t(name, what)
  LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r.name) THEN
      EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r.name);
      EXECUTE pg_catalog.format('COMMENT ON ROLE %I IS %L', r.name, r.what);
    END IF;
  END LOOP;
END
$roles$;

GRANT USAGE ON SCHEMA cobranca TO cobranca_erp, cobranca_analyst, cobranca_supervisor,
  cobranca_legal, cobranca_admin;
