-- Time partitioning (src/sql/92_partition.sql): audit_log and job_run become
-- tables partitioned by month.  Each is rebuilt with its rows: the 0.1.0
-- table is renamed away, the partitioned one created with its default
-- partition, and everything the old table had (comments, privileges,
-- row-level security and policies, triggers, the identity's position) is
-- carried over before the rows are copied into the default partition and
-- the old table dropped.  The first run of the job maintain_partitions moves
-- the current month's rows into their own partition; older months stay in
-- the default partition until cobranca.create_partition() is called for
-- them (doc/partitioning.md).

-- carries over everything but columns, constraints and indexes from
-- cobranca.<tbl>_0_1 to the new cobranca.<tbl> and copies the rows
CREATE FUNCTION cobranca.upgrade_0_2_rebuild(tbl name) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$
DECLARE
  old regclass := pg_catalog.format('cobranca.%I', tbl || '_0_1')::regclass;
  new regclass := pg_catalog.format('cobranca.%I', tbl)::regclass;
  r record;
  oldseq regclass;
  newseq regclass;
  last bigint;
  called boolean;
BEGIN
  EXECUTE pg_catalog.format('COMMENT ON TABLE %s IS %L', new, pg_catalog.obj_description(old, 'pg_class'));
  FOR r IN SELECT a.attname, pg_catalog.col_description(old, a.attnum) AS d
             FROM pg_catalog.pg_attribute a
            WHERE a.attrelid = old AND a.attnum > 0 AND NOT a.attisdropped
              AND pg_catalog.col_description(old, a.attnum) IS NOT NULL
            ORDER BY a.attnum
  LOOP
    EXECUTE pg_catalog.format('COMMENT ON COLUMN %s.%I IS %L', new, r.attname, r.d);
  END LOOP;

  IF (SELECT c.relrowsecurity FROM pg_catalog.pg_class c WHERE c.oid = old) THEN
    EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', new);
  END IF;
  IF (SELECT c.relforcerowsecurity FROM pg_catalog.pg_class c WHERE c.oid = old) THEN
    EXECUTE pg_catalog.format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', new);
  END IF;
  EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM PUBLIC', new);
  FOR r IN SELECT x.privilege_type, x.grantee
             FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) x
            WHERE c.oid = old AND x.grantee <> c.relowner
  LOOP
    EXECUTE pg_catalog.format('GRANT %s ON %s TO %s', r.privilege_type, new,
                              CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(r.grantee::regrole::text) END);
  END LOOP;
  FOR r IN SELECT a.attname, x.privilege_type, x.grantee
             FROM pg_catalog.pg_attribute a, pg_catalog.aclexplode(a.attacl) x
            WHERE a.attrelid = old AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
  LOOP
    EXECUTE pg_catalog.format('GRANT %s (%I) ON %s TO %s', r.privilege_type, r.attname, new,
                              CASE WHEN r.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(r.grantee::regrole::text) END);
  END LOOP;
  FOR r IN SELECT p.polname, p.polpermissive,
                  CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS cmd,
                  (SELECT pg_catalog.string_agg(CASE WHEN o = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(o::regrole::text) END, ', ')
                     FROM pg_catalog.unnest(p.polroles) o) AS roles,
                  pg_catalog.pg_get_expr(p.polqual, p.polrelid) AS q,
                  pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid) AS w
             FROM pg_catalog.pg_policy p
            WHERE p.polrelid = old
            ORDER BY p.oid
  LOOP
    EXECUTE pg_catalog.format('CREATE POLICY %I ON %s AS %s FOR %s TO %s%s%s', r.polname, new,
                              CASE WHEN r.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END, r.cmd, r.roles,
                              CASE WHEN r.q IS NULL THEN '' ELSE ' USING (' || r.q || ')' END,
                              CASE WHEN r.w IS NULL THEN '' ELSE ' WITH CHECK (' || r.w || ')' END);
  END LOOP;

  -- the rows, before the triggers: copying is no change of any row
  EXECUTE pg_catalog.format('INSERT INTO %s OVERRIDING SYSTEM VALUE SELECT * FROM %s', new, old);
  oldseq := pg_catalog.pg_get_serial_sequence(old::text, 'id')::regclass;
  newseq := pg_catalog.pg_get_serial_sequence(new::text, 'id')::regclass;
  IF oldseq IS NOT NULL AND newseq IS NOT NULL THEN
    EXECUTE pg_catalog.format('SELECT last_value, is_called FROM %s', oldseq) INTO last, called;
    PERFORM pg_catalog.setval(newseq, last, called);
  END IF;

  FOR r IN SELECT t.tgname, t.tgenabled, pg_catalog.pg_get_triggerdef(t.oid) AS def
             FROM pg_catalog.pg_trigger t
            WHERE t.tgrelid = old AND NOT t.tgisinternal AND t.tgparentid = 0
            ORDER BY t.tgname
  LOOP
    EXECUTE pg_catalog.replace(r.def, ' ON ' || old::text || ' ', ' ON ' || new::text || ' ');
    IF r.tgenabled = 'A' THEN
      EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', new, r.tgname);
    ELSIF r.tgenabled = 'R' THEN
      EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE REPLICA TRIGGER %I', new, r.tgname);
    ELSIF r.tgenabled = 'D' THEN
      EXECUTE pg_catalog.format('ALTER TABLE %s DISABLE TRIGGER %I', new, r.tgname);
    END IF;
  END LOOP;
END
$$;

-- (the functions come from src/sql/92_partition.sql, the part before this one)

-- ---- audit_log
ALTER TABLE cobranca.audit_log RENAME TO audit_log_0_1;
ALTER TABLE cobranca.audit_log_0_1 RENAME CONSTRAINT audit_log_pkey TO audit_log_0_1_pkey;
ALTER INDEX cobranca.audit_log_txid_idx RENAME TO audit_log_0_1_txid_idx;
ALTER INDEX cobranca.audit_log_logged_at_idx RENAME TO audit_log_0_1_logged_at_idx;
ALTER SEQUENCE cobranca.audit_log_id_seq RENAME TO audit_log_0_1_id_seq;
CREATE TABLE cobranca.audit_log (
  id                bigint GENERATED ALWAYS AS IDENTITY,
  logged_at         timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  txid              bigint NOT NULL DEFAULT pg_catalog.pg_current_xact_id()::text::bigint,
  session_user_name name NOT NULL DEFAULT SESSION_USER,
  current_user_name name NOT NULL DEFAULT CURRENT_USER,
  application_name  text,
  client_addr       inet,
  table_name        name NOT NULL,
  operation         text NOT NULL,
  row_id            bigint,
  creditor_id       bigint,
  old_values        jsonb,
  new_values        jsonb,
  reason            text
) PARTITION BY RANGE (logged_at);
-- Partitioned by month of logged_at (92_partition.sql).  The keys and
-- indexes are the partitions' own, not the table's: a dump restores the
-- partitions the job made after CREATE EXTENSION has made the table, and
-- an index of the table would already be on each partition it attaches.
-- The default partition, made here, is the model of the monthly ones.
-- Few and cheap indexes: every domain write pays for them.  BRIN suits both
-- columns, which grow with the table; the seal scans by txid.
CREATE TABLE cobranca.audit_log_default PARTITION OF cobranca.audit_log DEFAULT;
ALTER TABLE cobranca.audit_log_default ADD CONSTRAINT audit_log_default_pkey PRIMARY KEY (id);
CREATE INDEX audit_log_default_txid_idx ON cobranca.audit_log_default USING brin (txid);
CREATE INDEX audit_log_default_logged_at_idx ON cobranca.audit_log_default USING brin (logged_at);
SELECT cobranca.upgrade_0_2_rebuild('audit_log');
ALTER EXTENSION cobranca DROP SEQUENCE cobranca.audit_log_0_1_id_seq;
ALTER EXTENSION cobranca DROP TABLE cobranca.audit_log_0_1;
DROP TABLE cobranca.audit_log_0_1;
SELECT cobranca.partition_prepare('cobranca.audit_log', 'cobranca.audit_log_default');
SELECT pg_catalog.pg_extension_config_dump('cobranca.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.audit_log_id_seq', '');

-- ---- job_run (and the view that reads it)
DROP VIEW cobranca.job_status;
ALTER TABLE cobranca.job_run RENAME TO job_run_0_1;
ALTER TABLE cobranca.job_run_0_1 RENAME CONSTRAINT job_run_pkey TO job_run_0_1_pkey;
ALTER TABLE cobranca.job_run_0_1 RENAME CONSTRAINT job_run_finished_after_start TO job_run_0_1_finished_after_start;
ALTER TABLE cobranca.job_run_0_1 RENAME CONSTRAINT job_run_rows_or_error TO job_run_0_1_rows_or_error;
ALTER INDEX cobranca.job_run_started_at_idx RENAME TO job_run_0_1_started_at_idx;
ALTER INDEX cobranca.job_run_job_started_at_idx RENAME TO job_run_0_1_job_started_at_idx;
ALTER SEQUENCE cobranca.job_run_id_seq RENAME TO job_run_0_1_id_seq;
CREATE TABLE cobranca.job_run (
  id          bigint GENERATED ALWAYS AS IDENTITY,
  cycle       bigint NOT NULL,
  job         text NOT NULL,
  as_of       timestamptz NOT NULL,
  started_at  timestamptz NOT NULL,
  finished_at timestamptz NOT NULL,
  rows        bigint,
  error       text,
  sqlstate    text,
  pid         integer NOT NULL,
  CONSTRAINT job_run_finished_after_start CHECK (finished_at >= started_at),
  CONSTRAINT job_run_rows_or_error CHECK (error IS NULL OR rows IS NULL)
) PARTITION BY RANGE (started_at);
-- Partitioned by month of started_at (92_partition.sql); the keys and
-- indexes are the partitions', modelled on the default partition's.
CREATE TABLE cobranca.job_run_default PARTITION OF cobranca.job_run DEFAULT;
ALTER TABLE cobranca.job_run_default ADD CONSTRAINT job_run_default_pkey PRIMARY KEY (id);
CREATE INDEX job_run_default_started_at_idx ON cobranca.job_run_default (started_at);
CREATE INDEX job_run_default_job_started_at_idx ON cobranca.job_run_default (job, started_at);
SELECT cobranca.upgrade_0_2_rebuild('job_run');
ALTER EXTENSION cobranca DROP SEQUENCE cobranca.job_run_0_1_id_seq;
ALTER EXTENSION cobranca DROP TABLE cobranca.job_run_0_1;
DROP TABLE cobranca.job_run_0_1;
SELECT cobranca.partition_prepare('cobranca.job_run', 'cobranca.job_run_default');
SELECT pg_catalog.pg_extension_config_dump('cobranca.job_run', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.job_run_id_seq', '');

CREATE VIEW cobranca.job_status AS
SELECT j.name        AS job,
       j.position,
       j.enabled,
       last.cycle    AS last_cycle,
       last.started_at AS last_started_at,
       last.finished_at AS last_finished_at,
       last.rows     AS last_rows,
       last.error    AS last_error,
       (SELECT pg_catalog.max(ok.finished_at)
          FROM cobranca.job_run ok
         WHERE ok.job = j.name AND ok.error IS NULL) AS last_success_at
  FROM cobranca.job j
  LEFT JOIN LATERAL (
        SELECT r.cycle, r.started_at, r.finished_at, r.rows, r.error
          FROM cobranca.job_run r
         WHERE r.job = j.name
         ORDER BY r.started_at DESC
         LIMIT 1) last ON true;
COMMENT ON VIEW cobranca.job_status IS
  'One row per registered job with its last run: for watching the collection cycle';
COMMENT ON COLUMN cobranca.job_status.job IS 'name of the job';
COMMENT ON COLUMN cobranca.job_status.position IS 'order in the cycle';
COMMENT ON COLUMN cobranca.job_status.enabled IS 'whether the cycle runs it';
COMMENT ON COLUMN cobranca.job_status.last_cycle IS 'cycle number of its last run';
COMMENT ON COLUMN cobranca.job_status.last_started_at IS 'start of its last run';
COMMENT ON COLUMN cobranca.job_status.last_finished_at IS 'end of its last run';
COMMENT ON COLUMN cobranca.job_status.last_rows IS 'rows its last run created or changed; null if it failed';
COMMENT ON COLUMN cobranca.job_status.last_error IS 'error of its last run; null if it succeeded';
COMMENT ON COLUMN cobranca.job_status.last_success_at IS 'end of its last successful run within the retained history';

REVOKE ALL ON cobranca.job_run, cobranca.job_status FROM PUBLIC;
GRANT SELECT ON cobranca.job_run, cobranca.job_status TO cobranca_admin;
ALTER VIEW cobranca.job_status SET (security_barrier = true);

-- The default partitions (made with their tables): members of the
-- extension, their rows dumped.
COMMENT ON TABLE cobranca.audit_log_default IS
  'rows of cobranca.audit_log whose month has no partition yet (job maintain_partitions moves them out)';
COMMENT ON TABLE cobranca.job_run_default IS
  'rows of cobranca.job_run whose month has no partition yet (job maintain_partitions moves them out)';
SELECT pg_catalog.pg_extension_config_dump('cobranca.audit_log_default', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.job_run_default', '');

-- as CREATE EXTENSION leaves them (97_security.sql): no role reads a sequence
REVOKE ALL ON SEQUENCE cobranca.audit_log_id_seq, cobranca.job_run_id_seq
  FROM PUBLIC, cobranca_erp, cobranca_analyst, cobranca_supervisor, cobranca_legal, cobranca_admin;

CREATE OR REPLACE FUNCTION cobranca.unclassified_tables() RETURNS text
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS
$$
  SELECT pg_catalog.string_agg(c.relname, ', ' ORDER BY c.relname)
    FROM pg_catalog.pg_class c
   WHERE c.relnamespace = 'cobranca'::regnamespace AND c.relkind IN ('r', 'p')
     AND NOT c.relispartition	-- a partition takes its table's class
     AND NOT EXISTS (SELECT 1 FROM cobranca.table_class k WHERE k.table_name = c.relname)
$$;

DROP FUNCTION cobranca.upgrade_0_2_rebuild(name);
