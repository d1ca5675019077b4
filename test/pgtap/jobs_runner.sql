-- cobranca.run_jobs(): order, one subtransaction per job, the job_run log,
-- and retention (prune_job_runs).
BEGIN;
SELECT plan(24);

SELECT has_function('cobranca', 'run_jobs', ARRAY['timestamp with time zone'], 'run_jobs(as_of) exists');
SELECT has_table('cobranca', 'job_run', 'job_run exists');
SELECT is((SELECT position FROM cobranca.job WHERE name = 'prune_job_runs'), 90,
          'prune_job_runs is registered at position 90');
SELECT is(cobranca.job_run_retention_days(), 30, 'job_run retention defaults to 30 days');

-- Only this file's jobs run here; the shipped ones are switched off for the
-- duration of the test (rolled back at the end).
UPDATE cobranca.job SET enabled = false;

CREATE SCHEMA jobs_test;
CREATE TABLE jobs_test.done (job text, as_of timestamptz);
CREATE FUNCTION jobs_test.first(as_of timestamptz) RETURNS bigint LANGUAGE sql
  AS $$ INSERT INTO jobs_test.done VALUES ('first', as_of) RETURNING 1 $$;
CREATE FUNCTION jobs_test.boom(as_of timestamptz) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO jobs_test.done VALUES ('boom', as_of);
  RAISE EXCEPTION 'boom job exploded' USING ERRCODE = 'data_exception';
END $$;
-- an integer result is accepted (widened to bigint)
CREATE FUNCTION jobs_test.after(as_of timestamptz) RETURNS integer LANGUAGE sql
  AS $$ INSERT INTO jobs_test.done VALUES ('after', as_of); SELECT 3 $$;
CREATE FUNCTION jobs_test.wrong(as_of date) RETURNS bigint LANGUAGE sql AS $$ SELECT 1::bigint $$;
CREATE FUNCTION jobs_test.off(as_of timestamptz) RETURNS bigint LANGUAGE sql
  AS $$ INSERT INTO jobs_test.done VALUES ('off', as_of) RETURNING 1 $$;

INSERT INTO cobranca.job (name, position, function, description, enabled) VALUES
  ('jt_after', 1003, 'jobs_test.after(timestamptz)', 'test', true),
  ('jt_first', 1001, 'jobs_test.first(timestamptz)', 'test', true),
  ('jt_boom',  1002, 'jobs_test.boom(timestamptz)',  'test', true),
  ('jt_wrong', 1004, 'jobs_test.wrong(date)',        'test', true),
  ('jt_off',   1005, 'jobs_test.off(timestamptz)',   'test', false);

SET client_min_messages = error;	-- the failing jobs raise warnings
CREATE TEMP TABLE result AS
  SELECT r.*, pg_catalog.row_number() OVER () AS n
    FROM cobranca.run_jobs('2026-03-02 10:00-03') r;
RESET client_min_messages;

SELECT results_eq(
  'SELECT job, rows FROM result ORDER BY n',
  $$VALUES ('jt_first', 1::bigint), ('jt_boom', NULL), ('jt_after', 3), ('jt_wrong', NULL)$$,
  'enabled jobs run in position order; failed ones report no rows');
SELECT is((SELECT error FROM result WHERE job = 'jt_boom'), 'boom job exploded',
          'run_jobs returns the error of the failing job');
SELECT ok((SELECT error IS NULL FROM result WHERE job = 'jt_after'),
          'the job after the failing one still succeeds');
SELECT ok((SELECT bool_and(ms >= 0) FROM result), 'every job reports its duration');
SELECT matches((SELECT error FROM result WHERE job = 'jt_wrong'), 'does not take \(as_of timestamptz\)',
               'a job function with the wrong signature is refused by name');

SELECT results_eq(
  'SELECT job, as_of FROM jobs_test.done ORDER BY job',
  $$VALUES ('after', '2026-03-02 13:00+00'::timestamptz), ('first', '2026-03-02 13:00+00')$$,
  'the failing job''s work was rolled back, the others'' kept; each got the as_of');

SELECT is((SELECT count(DISTINCT cycle) FROM cobranca.job_run WHERE job LIKE 'jt\_%'), 1::bigint,
          'one cycle number for the whole cycle');
SELECT is((SELECT count(*) FROM cobranca.job_run WHERE job LIKE 'jt\_%'), 4::bigint,
          'job_run has one row per job run (none for the disabled one)');
SELECT results_eq(
  $$SELECT error, sqlstate, rows FROM cobranca.job_run WHERE job = 'jt_boom'$$,
  $$VALUES ('boom job exploded', '22000', NULL::bigint)$$,
  'job_run logs the failing job with its error and SQLSTATE');
SELECT is((SELECT sqlstate FROM cobranca.job_run WHERE job = 'jt_wrong'), '42P13',
          'the wrong-signature job is logged as invalid_function_definition');
SELECT ok((SELECT bool_and(finished_at >= started_at AND as_of = '2026-03-02 13:00+00'
                           AND pid = pg_backend_pid())
             FROM cobranca.job_run WHERE job LIKE 'jt\_%'),
          'job_run rows carry as_of, times and the pid that ran them');
SELECT results_eq(
  $$SELECT job, last_rows, last_error FROM cobranca.job_status WHERE job LIKE 'jt\_%' ORDER BY position$$,
  $$VALUES ('jt_first', 1::bigint, NULL::text), ('jt_boom', NULL, 'boom job exploded'),
           ('jt_after', 3, NULL), ('jt_wrong', NULL, 'job "jt_wrong" has function jobs_test.wrong(date), which does not take (as_of timestamptz)'),
           ('jt_off', NULL, NULL)$$,
  'job_status shows each job''s last run');

-- a second cycle gets a new number
SET client_min_messages = error;
SELECT is((SELECT count(*) FROM cobranca.run_jobs('2026-03-02 11:00-03')), 4::bigint, 'a second cycle runs');
RESET client_min_messages;
SELECT is((SELECT count(DISTINCT cycle) FROM cobranca.job_run WHERE job LIKE 'jt\_%'), 2::bigint,
          'the second cycle has its own number');

-- a job whose function was dropped is reported, not silently left out
CREATE FUNCTION jobs_test.gone(as_of timestamptz) RETURNS bigint LANGUAGE sql AS $$ SELECT 1::bigint $$;
UPDATE cobranca.job SET enabled = (name = 'jt_gone');
INSERT INTO cobranca.job (name, position, function, description) VALUES
  ('jt_gone', 1006, 'jobs_test.gone(timestamptz)', 'test');
DROP FUNCTION jobs_test.gone(timestamptz);
SET client_min_messages = error;
SELECT results_eq(
  $$SELECT job, error ~ 'names function \d+, which no longer exists' FROM cobranca.run_jobs()$$,
  $$VALUES ('jt_gone', true)$$,
  'a job whose function was dropped fails by name');
RESET client_min_messages;
SELECT is((SELECT sqlstate FROM cobranca.job_run WHERE job = 'jt_gone'), '42883',
          'and is logged as undefined_function');

SELECT throws_ok('SELECT * FROM cobranca.run_jobs(NULL)', '22004', 'as_of must not be null',
                 'run_jobs refuses a null as_of');

-- Retention: rows older than 30 days before the cycle go, newer ones stay,
-- and the running cycle never prunes its own rows even for a future as_of.
UPDATE cobranca.job SET enabled = (name IN ('prune_job_runs', 'jt_first'));
INSERT INTO cobranca.job_run (cycle, job, as_of, started_at, finished_at, rows, pid) VALUES
  (-1, 'jt_ancient', now() - interval '400 days', now() - interval '400 days', now() - interval '400 days', 0, 0),
  (-1, 'jt_old',     now() - interval '31 days',  now() - interval '31 days',  now() - interval '31 days',  0, 0),
  (-1, 'jt_recent',  now() - interval '29 days',  now() - interval '29 days',  now() - interval '29 days',  0, 0);
SELECT results_eq(
  $$SELECT job, rows FROM cobranca.run_jobs(now() + interval '90 days')$$,
  $$VALUES ('prune_job_runs', 2::bigint), ('jt_first', 1)$$,
  'prune_job_runs deletes the two rows older than the retention');
SELECT results_eq(
  $$SELECT job FROM cobranca.job_run WHERE cycle = -1$$,
  $$VALUES ('jt_recent')$$,
  'rows within the retention are kept');
SELECT is((SELECT count(*) FROM cobranca.job_run r
            WHERE r.cycle = (SELECT max(cycle) FROM cobranca.job_run)), 2::bigint,
          'the pruning cycle keeps its own rows');

SELECT * FROM finish();
ROLLBACK;
