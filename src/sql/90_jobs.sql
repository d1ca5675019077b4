-- The job runner (src/worker.c): one collection cycle runs every enabled job
-- of cobranca.job in position order, each in its own subtransaction, and
-- keeps one row per job per cycle in cobranca.job_run.
--
-- Two cycles never run at once in one database: cobranca.run_jobs() takes
-- the transaction-level advisory lock (1668244082, 1) ('cobr', 1; the same
-- key as COBRANCA_CYCLE_LOCK_KEY1/2 in src/worker.h) and waits for a cycle
-- running elsewhere; the background worker only tries it and skips its
-- cycle when someone else holds it.

CREATE SEQUENCE cobranca.job_cycle_seq;
COMMENT ON SEQUENCE cobranca.job_cycle_seq IS
  'numbers the collection cycles: every row a cycle writes in cobranca.job_run carries the same number';

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
COMMENT ON TABLE cobranca.job_run IS
  'History of the collection cycles: one row per job per cycle, kept for cobranca.job_run_retention days (job prune_job_runs)';
COMMENT ON COLUMN cobranca.job_run.id IS 'row number';
COMMENT ON COLUMN cobranca.job_run.cycle IS 'number of the cycle (cobranca.job_cycle_seq); the rows of one cycle share it';
COMMENT ON COLUMN cobranca.job_run.job IS 'name of the job (cobranca.job.name); run_jobs for an error that stopped the whole cycle of the background worker';
COMMENT ON COLUMN cobranca.job_run.as_of IS 'instant the cycle ran for, passed to every job';
COMMENT ON COLUMN cobranca.job_run.started_at IS 'wall-clock start of the job';
COMMENT ON COLUMN cobranca.job_run.finished_at IS 'wall-clock end of the job';
COMMENT ON COLUMN cobranca.job_run.rows IS 'rows the job created or changed, as it reported them; null when it failed';
COMMENT ON COLUMN cobranca.job_run.error IS 'error message when the job failed (its work was rolled back, the other jobs ran); null on success';
COMMENT ON COLUMN cobranca.job_run.sqlstate IS 'SQLSTATE of the error; null on success';
COMMENT ON COLUMN cobranca.job_run.pid IS 'process id of the backend that ran the cycle (the background worker or a session calling run_jobs)';

SELECT pg_catalog.pg_extension_config_dump('cobranca.job_run', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.job_run_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('cobranca.job_cycle_seq', '');

CREATE FUNCTION cobranca.job_run_retention_days() RETURNS integer
  AS 'MODULE_PATHNAME', 'cobranca_job_run_retention_days'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION cobranca.job_run_retention_days() IS
  'days of history kept in cobranca.job_run: the setting cobranca.job_run_retention';

CREATE FUNCTION cobranca.run_jobs(as_of timestamptz DEFAULT pg_catalog.now())
  RETURNS TABLE (job text, rows bigint, ms numeric, error text)
  LANGUAGE plpgsql
  SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
DECLARE
  j        record;
  v_cycle  bigint;
  v_start  timestamptz;
  v_end    timestamptz;
  v_rows   bigint;
  v_error  text;
  v_state  text;
BEGIN
  IF run_jobs.as_of IS NULL THEN
    RAISE EXCEPTION 'as_of must not be null'
      USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Call cobranca.run_jobs() to run the cycle for now.';
  END IF;
  -- a BI replica (93_replica.sql) receives what the primary's jobs wrote
  IF cobranca.is_bi_replica() THEN
    RAISE EXCEPTION 'cobranca.run_jobs() does not run on a BI replica'
      USING ERRCODE = 'object_not_in_prerequisite_state',
            DETAIL = pg_catalog.format('Database %s subscribes to tables of schema cobranca.',
                                       pg_catalog.current_database()),
            HINT = 'Run the jobs on the primary; their results reach this database through the subscription.';
  END IF;

  -- one cycle at a time per database; waits for one running elsewhere
  -- (bounded by lock_timeout when set)
  PERFORM pg_catalog.pg_advisory_xact_lock(1668244082, 1);

  v_cycle := pg_catalog.nextval('cobranca.job_cycle_seq');

  FOR j IN
    SELECT jb.name, jb.function::oid AS fn, n.nspname, p.proname,
           p.pronargs, p.proargtypes[0] AS argtype
      FROM cobranca.job jb
      LEFT JOIN pg_catalog.pg_proc p ON p.oid = jb.function::oid
      LEFT JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
     WHERE jb.enabled
     ORDER BY jb.position
  LOOP
    v_rows := NULL;
    v_error := NULL;
    v_state := NULL;
    v_start := pg_catalog.clock_timestamp();
    BEGIN
      IF j.proname IS NULL THEN
        -- a regprocedure column does not keep its function from being dropped
        RAISE EXCEPTION 'job "%" names function %, which no longer exists', j.name, j.fn
          USING ERRCODE = 'undefined_function',
                HINT = 'Point cobranca.job.function at an existing function, or disable the job.';
      END IF;
      IF j.pronargs <> 1 OR j.argtype <> 'timestamptz'::regtype THEN
        RAISE EXCEPTION 'job "%" has function %, which does not take (as_of timestamptz)',
                        j.name, j.fn::regprocedure
          USING ERRCODE = 'invalid_function_definition',
                HINT = 'A job function is f(as_of timestamptz) RETURNS bigint.';
      END IF;
      EXECUTE pg_catalog.format('SELECT %I.%I($1)::bigint', j.nspname, j.proname)
        INTO v_rows USING run_jobs.as_of;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS v_error = MESSAGE_TEXT, v_state = RETURNED_SQLSTATE;
      v_rows := NULL;
      RAISE WARNING 'cobranca job "%" failed and was rolled back: %', j.name, v_error
        USING DETAIL = pg_catalog.format('SQLSTATE %s; the other jobs of cycle %s still run.',
                                         v_state, v_cycle);
    END;
    v_end := pg_catalog.clock_timestamp();

    INSERT INTO cobranca.job_run (cycle, job, as_of, started_at, finished_at, rows, error, sqlstate, pid)
    VALUES (v_cycle, j.name, run_jobs.as_of, v_start, v_end, v_rows, v_error, v_state,
            pg_catalog.pg_backend_pid());

    job := j.name;
    rows := v_rows;
    ms := pg_catalog.round(EXTRACT(epoch FROM v_end - v_start) * 1000, 3);
    error := v_error;
    RETURN NEXT;
  END LOOP;
END
$fn$;
COMMENT ON FUNCTION cobranca.run_jobs(timestamptz) IS
  'Runs one collection cycle as of the given instant: every enabled job of cobranca.job in position order, each in its own subtransaction (a failing job is rolled back and logged, the others run); logs each in cobranca.job_run; waits while another session runs a cycle; refuses on a BI replica (cobranca.is_bi_replica())';
REVOKE ALL ON FUNCTION cobranca.run_jobs(timestamptz) FROM PUBLIC;

CREATE FUNCTION cobranca.prune_job_runs(as_of timestamptz) RETURNS bigint
  LANGUAGE sql
  SET search_path = pg_catalog, pg_temp
AS $fn$
  WITH gone AS (
    DELETE FROM cobranca.job_run r
     WHERE r.started_at < LEAST(prune_job_runs.as_of, pg_catalog.now())
                          - pg_catalog.make_interval(days => cobranca.job_run_retention_days())
    RETURNING 1)
  SELECT pg_catalog.count(*) FROM gone
$fn$;
COMMENT ON FUNCTION cobranca.prune_job_runs(timestamptz) IS
  'Job: deletes the cobranca.job_run rows older than cobranca.job_run_retention days before as_of (never later than now, so a cycle never prunes itself); returns how many';
REVOKE ALL ON FUNCTION cobranca.prune_job_runs(timestamptz) FROM PUBLIC;

INSERT INTO cobranca.job (name, position, function, description)
VALUES ('prune_job_runs', 90, 'cobranca.prune_job_runs(timestamptz)',
        'delete job history older than cobranca.job_run_retention days');

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
