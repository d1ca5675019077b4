-- Row-level security, grants and audit triggers, applied to every table of
-- the schema by class.  This file runs late so that it sees every table.
--
-- Every table of schema cobranca has exactly one line in the list below;
-- CREATE EXTENSION fails if one is missing, so that no table is forgotten.
-- A new table needs one line: ('name', 'class').  The classes, the matrix
-- they implement and the reasons are in doc/security.md:
--
--   class      rows seen by staff (analyst, supervisor, legal)   erp       analyst  supervisor legal  admin
--   tenant     creditors of their assigned portfolios             R own     R        R          R      SIUD
--   portfolio  their assigned portfolios                          R own     R        R          R      SIUD
--   payer      rows of their portfolios (portfolio_id, or the     SIUD own  R        R          R      -
--   billing      parent row through invoice_id, contract_id,      SIUD own  R        R          R      -
--   money        payer_id, contact_id or agreement_id, which      SIUD own  R        R          -      -
--                the parent's policy filters)
--   work                                                          SIUD own  SIU      SIU        R      -
--   notice                                                        R own     R        R          RU     -
--   report     (written by jobs or functions: scores, agreements)  R own     R        R          R      -
--   health     (health data: the ERP only; aggregates via views)  SIUD own  -        -          -      -
--   config     creditor_id null or one they work                  R         R        R          R      SIUD
--   access     their own rows (login = current_user)              R own     R own    R own      R own  SIUD
--   audit      legal: rows of the creditors it works              -         -        -          R      R
--   hold       legal: holds of the creditors it works             -         -        -          SI     SIUD
--   ops        run history of the jobs                            -         -        -          -      R
--   custom     the module that owns the table keeps its own policies and grants (reviewed);
--              here only row-level security is enabled and forced
--   internal   nobody (functions reach them as their owner)       -         -        -          -      -
-- R = SELECT, S/I/U/D = SELECT/INSERT/UPDATE/DELETE; "own" = the creditor of
-- cobranca.erp_login.  Every class but audit, ops, custom and internal gets
-- the audit capture trigger.  A line for a table that does not exist (yet) is
-- dropped, so that the list may name tables of modules still to come.  Superusers and BYPASSRLS roles are not filtered.

CREATE TABLE cobranca.table_class (
  table_name name PRIMARY KEY,
  class      text NOT NULL
    CHECK (class IN ('tenant', 'portfolio', 'payer', 'billing', 'money', 'work', 'notice', 'report',
                     'health', 'config', 'access', 'audit', 'hold', 'ops', 'custom', 'internal'))
);
COMMENT ON TABLE cobranca.table_class IS
  'The security class of every table of the schema (see doc/security.md); filled by CREATE EXTENSION, which refuses to finish if a table has none';

INSERT INTO cobranca.table_class (table_name, class) VALUES
  ('creditor',         'tenant'),
  ('portfolio',        'portfolio'),
  ('payer',            'payer'),
  ('contract',         'billing'),
  ('invoice',          'billing'),
  ('payment',          'money'),
  ('dispute',          'money'),
  ('contact',          'work'),
  ('contact_event',    'work'),
  ('protocol_counter', 'work'),
  ('agreement',        'report'),
  ('agreement_installment', 'report'),
  ('invoice_score',    'internal'),
  ('kpi_snapshot',     'custom'),
  ('default_notice',   'notice'),
  ('claim',            'health'),
  ('hospitalization',  'health'),
  ('cadence_rule',     'config'),
  ('score_model',      'config'),
  ('agreement_tier',   'config'),
  ('job',              'config'),
  ('channel_cost',     'config'),
  ('holiday',          'config'),
  ('contact_window',   'config'),
  ('channel_capacity', 'config'),
  ('job_run',          'ops'),
  ('assignment',       'access'),
  ('erp_login',        'access'),
  ('audit_log',        'audit'),
  ('audit_seal',       'audit'),
  ('audit_hold',       'hold'),
  ('audit_seal_state', 'internal'),
  ('key_ring',         'internal'),
  ('table_class',      'internal');

-- A TRUNCATE of a domain table leaves a trace too (one row per statement).
CREATE FUNCTION cobranca.audit_truncate() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS
$$
BEGIN
  PERFORM cobranca.audit_note(TG_TABLE_NAME, 'TRUNCATE', NULL, NULL, NULL, NULL);
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION cobranca.audit_truncate() IS
  'statement trigger: records a TRUNCATE of a domain table in cobranca.audit_log';
REVOKE ALL ON FUNCTION cobranca.audit_truncate() FROM PUBLIC;

CREATE FUNCTION cobranca.unclassified_tables() RETURNS text
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS
$$
  SELECT pg_catalog.string_agg(c.relname, ', ' ORDER BY c.relname)
    FROM pg_catalog.pg_class c
   WHERE c.relnamespace = 'cobranca'::regnamespace AND c.relkind IN ('r', 'p')
     AND NOT c.relispartition	-- a partition takes its table's class
     AND NOT EXISTS (SELECT 1 FROM cobranca.table_class k WHERE k.table_name = c.relname)
$$;
COMMENT ON FUNCTION cobranca.unclassified_tables() IS
  'names of the tables of schema cobranca without a security class (null when none): CREATE EXTENSION refuses to finish while there is one';

DO $security$
DECLARE
  t record;
  classes text[];
  entry text;
  missing text;
  roles constant text[] := ARRAY['cobranca_erp', 'cobranca_analyst', 'cobranca_supervisor',
                                 'cobranca_legal', 'cobranca_admin'];
  -- privileges by class, in the order of "roles"
  privs constant jsonb := '{
    "tenant":    ["SELECT", "SELECT", "SELECT", "SELECT", "SELECT, INSERT, UPDATE, DELETE"],
    "portfolio": ["SELECT", "SELECT", "SELECT", "SELECT", "SELECT, INSERT, UPDATE, DELETE"],
    "payer":     ["SELECT, INSERT, UPDATE, DELETE", "SELECT", "SELECT", "SELECT", ""],
    "billing":   ["SELECT, INSERT, UPDATE, DELETE", "SELECT", "SELECT", "SELECT", ""],
    "money":     ["SELECT, INSERT, UPDATE, DELETE", "SELECT", "SELECT", "", ""],
    "work":      ["SELECT, INSERT, UPDATE, DELETE", "SELECT, INSERT, UPDATE", "SELECT, INSERT, UPDATE", "SELECT", ""],
    "notice":    ["SELECT", "SELECT", "SELECT", "SELECT, UPDATE", ""],
    "report":    ["SELECT", "SELECT", "SELECT", "SELECT", ""],
    "health":    ["SELECT, INSERT, UPDATE, DELETE", "", "", "", ""],
    "config":    ["SELECT", "SELECT", "SELECT", "SELECT", "SELECT, INSERT, UPDATE, DELETE"],
    "access":    ["SELECT", "SELECT", "SELECT", "SELECT", "SELECT, INSERT, UPDATE, DELETE"],
    "audit":     ["", "", "", "SELECT", "SELECT"],
    "hold":      ["", "", "", "SELECT, INSERT", "SELECT, INSERT, UPDATE, DELETE"],
    "ops":       ["", "", "", "", "SELECT"],
    "custom":    ["", "", "", "", ""],
    "internal":  ["", "", "", "", ""]
  }';
  erp_creditors constant text :=
    '(SELECT e.creditor_id FROM cobranca.erp_login e WHERE e.login = CURRENT_USER)';
  my_creditors constant text :=
    '(SELECT a.creditor_id FROM cobranca.assignment a WHERE a.login = CURRENT_USER)';
  my_portfolios constant text :=
    '(SELECT a.portfolio_id FROM cobranca.assignment a WHERE a.login = CURRENT_USER)';
  has_col boolean;
  cols text;
  staff_filter text;
  erp_filter text;
  admin_filter text;
  f text;
  p text;
  parent record;
BEGIN
  missing := cobranca.unclassified_tables();
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'tables without a security class: %', missing
      USING ERRCODE = 'invalid_object_definition',
            DETAIL = 'Every table of schema cobranca must be listed in src/sql/97_security.sql.',
            HINT = 'Add one line (''table'', ''class'') to the list; the classes are described in doc/security.md.';
  END IF;
  DELETE FROM cobranca.table_class k
   WHERE pg_catalog.to_regclass('cobranca.' || pg_catalog.quote_ident(k.table_name)) IS NULL;

  -- read the list first: table_class itself is altered in the loop
  classes := ARRAY(SELECT k.table_name || ':' || k.class FROM cobranca.table_class k ORDER BY k.table_name);
  FOREACH entry IN ARRAY classes LOOP
    SELECT pg_catalog.split_part(entry, ':', 1) AS table_name, pg_catalog.split_part(entry, ':', 2) AS class,
           ('cobranca.' || pg_catalog.quote_ident(pg_catalog.split_part(entry, ':', 1)))::regclass AS rel
      INTO t;
    EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t.rel);
    EXECUTE pg_catalog.format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t.rel);
    IF t.class = 'custom' THEN
      CONTINUE;
    END IF;
    EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM PUBLIC, %s', t.rel, pg_catalog.array_to_string(roles, ', '));

    -- the row filters of the class
    staff_filter := NULL; erp_filter := NULL; admin_filter := NULL;
    IF t.class = 'tenant' THEN
      staff_filter := 'id IN ' || my_creditors;
      erp_filter := 'id IN ' || erp_creditors;
      admin_filter := 'true';
    ELSIF t.class = 'portfolio' THEN
      staff_filter := 'id IN ' || my_portfolios;
      erp_filter := 'creditor_id IN ' || erp_creditors;
      admin_filter := 'true';
    ELSIF t.class IN ('payer', 'billing', 'money', 'work', 'notice', 'report', 'health') THEN
      erp_filter := 'creditor_id IN ' || erp_creditors;
      IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = t.rel AND a.attname = 'portfolio_id' AND NOT a.attisdropped) THEN
        staff_filter := 'portfolio_id IN ' || my_portfolios;
      ELSE
        SELECT v.col, v.parent INTO parent
          FROM (VALUES (1, 'invoice_id', 'invoice'), (2, 'contract_id', 'contract'), (3, 'payer_id', 'payer'),
                       (4, 'contact_id', 'contact'), (5, 'agreement_id', 'agreement'))
               AS v(o, col, parent)
         WHERE EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid = t.rel AND a.attname = v.col AND NOT a.attisdropped)
         ORDER BY v.o LIMIT 1;
        IF FOUND THEN
          -- the parent's own policy decides which parents the role sees
          staff_filter := pg_catalog.format('%I IN (SELECT x.id FROM cobranca.%I x)', parent.col, parent.parent);
        ELSE
          staff_filter := 'creditor_id IN ' || my_creditors;
        END IF;
      END IF;
    ELSIF t.class = 'config' THEN
      IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = t.rel AND a.attname = 'creditor_id' AND NOT a.attisdropped) THEN
        staff_filter := 'creditor_id IS NULL OR creditor_id IN ' || my_creditors;
        erp_filter := 'creditor_id IS NULL OR creditor_id IN ' || erp_creditors;
      ELSE
        staff_filter := 'true';
        erp_filter := 'true';
      END IF;
      admin_filter := 'true';
    ELSIF t.class = 'access' THEN
      staff_filter := 'login = CURRENT_USER';
      erp_filter := 'login = CURRENT_USER';
      admin_filter := 'true';
    ELSIF t.class = 'ops' THEN
      admin_filter := 'true';
    ELSIF t.class IN ('audit', 'hold') THEN
      IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = t.rel AND a.attname = 'creditor_id' AND NOT a.attisdropped) THEN
        staff_filter := 'creditor_id IN ' || my_creditors;
      ELSE
        staff_filter := 'chain_id IN ' || my_creditors;
      END IF;
      admin_filter := 'true';
    END IF;

    FOR i IN 1 .. 5 LOOP
      p := privs -> t.class ->> (i - 1);
      IF p IS NULL OR p = '' THEN
        CONTINUE;
      END IF;
      f := CASE roles[i] WHEN 'cobranca_erp' THEN erp_filter
                         WHEN 'cobranca_admin' THEN admin_filter
                         ELSE staff_filter END;
      IF f IS NULL THEN
        RAISE EXCEPTION 'class % gives % privileges but no row filter', t.class, roles[i];
      END IF;
      -- encrypted documents are never readable: SELECT is granted column by column
      has_col := EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                          WHERE a.attrelid = t.rel AND a.attname = 'document_cipher' AND NOT a.attisdropped);
      IF has_col THEN
        SELECT string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
          FROM pg_catalog.pg_attribute a
         WHERE a.attrelid = t.rel AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> 'document_cipher';
        EXECUTE pg_catalog.format('GRANT SELECT (%s) ON %s TO %I', cols, t.rel, roles[i]);
        p := pg_catalog.btrim(pg_catalog.replace(pg_catalog.replace(p, 'SELECT, ', ''), 'SELECT', ''));
        IF p <> '' THEN
          EXECUTE pg_catalog.format('GRANT %s ON %s TO %I', p, t.rel, roles[i]);
        END IF;
      ELSE
        EXECUTE pg_catalog.format('GRANT %s ON %s TO %I', p, t.rel, roles[i]);
      END IF;
      EXECUTE pg_catalog.format('CREATE POLICY %I ON %s FOR ALL TO %I USING (%s) WITH CHECK (%s)',
                                pg_catalog.replace(roles[i], 'cobranca_', ''), t.rel, roles[i], f, f);
    END LOOP;

    IF t.class NOT IN ('audit', 'ops', 'internal') THEN
      EXECUTE pg_catalog.format('CREATE TRIGGER audit_capture AFTER INSERT OR UPDATE OR DELETE ON %s '
                                'FOR EACH ROW EXECUTE FUNCTION cobranca.audit_capture()', t.rel);
      EXECUTE pg_catalog.format('CREATE TRIGGER audit_truncate AFTER TRUNCATE ON %s '
                                'FOR EACH STATEMENT EXECUTE FUNCTION cobranca.audit_truncate()', t.rel);
    END IF;
  END LOOP;

  -- views read their tables as the view's owner, who is not filtered: a view
  -- is security_invoker (the reader's policies apply) or filters with
  -- visible_portfolio()/visible_creditor(); either way it is a security
  -- barrier, so that no leaky function sees rows before its filter
  FOR t IN SELECT c.oid::regclass AS rel FROM pg_catalog.pg_class c
            WHERE c.relnamespace = 'cobranca'::regnamespace AND c.relkind = 'v'
              AND NOT COALESCE('security_invoker=true' = ANY (c.reloptions), false)
  LOOP
    EXECUTE pg_catalog.format('ALTER VIEW %s SET (security_barrier = true)', t.rel);
  END LOOP;

  -- identity sequences: no role needs them (identity columns draw without a
  -- privilege); reading one would show how many rows all tenants wrote
  EXECUTE (SELECT 'REVOKE ALL ON SEQUENCE ' || string_agg(c.oid::regclass::text, ', ') ||
                  ' FROM PUBLIC, ' || pg_catalog.array_to_string(roles, ', ')
             FROM pg_catalog.pg_class c
            WHERE c.relnamespace = 'cobranca'::regnamespace AND c.relkind = 'S');
END
$security$;

-- a default partition takes the statement-level TRUNCATE triggers just put
-- on its table (92_partition.sql: PostgreSQL does not clone them)
SELECT cobranca.partition_prepare('cobranca.contact', 'cobranca.contact_default');
