-- 0.2.0: cobranca.run_jobs() refuses on a BI replica (see 93_replica.sql).

CREATE OR REPLACE FUNCTION cobranca.run_jobs(as_of timestamptz DEFAULT pg_catalog.now())
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
