-- Two cycles never run at once: run_jobs() and the background worker share
-- one advisory lock.  A second session (dblink) plays the other side.
BEGIN;
SELECT plan(5);

CREATE EXTENSION IF NOT EXISTS dblink;
UPDATE cobranca.job SET enabled = false;	-- only the lock is under test

SELECT is(dblink_connect('jobs_lock',
          pg_catalog.format('host=%s port=%s dbname=%s user=%s',
                            pg_catalog.split_part(pg_catalog.current_setting('unix_socket_directories'), ',', 1),
                            pg_catalog.current_setting('port'), pg_catalog.current_database(), current_user)),
          'OK', 'a second session is open');

-- the other session runs a cycle (holds the lock in its open transaction)
SELECT dblink_exec('jobs_lock', 'BEGIN');
SELECT is((SELECT x FROM dblink('jobs_lock',
             'SELECT pg_catalog.pg_advisory_xact_lock(1668244082, 1)::text') AS t(x text)),
          '', 'the other session holds the cycle lock');

-- run_jobs waits for it; with lock_timeout the wait ends in 55P03
SET LOCAL lock_timeout = '200ms';
SELECT throws_ok('SELECT * FROM cobranca.run_jobs()', '55P03', NULL,
                 'run_jobs waits while another cycle runs (here until lock_timeout)');
RESET lock_timeout;

SELECT dblink_exec('jobs_lock', 'ROLLBACK');
SELECT lives_ok('SELECT * FROM cobranca.run_jobs()', 'once the other cycle ends, run_jobs runs');

-- now this session holds the lock: the worker's try-lock (src/worker.h)
-- from another session fails, so the worker would skip its cycle
SELECT is((SELECT x FROM dblink('jobs_lock',
             'SELECT pg_catalog.pg_try_advisory_xact_lock(1668244082, 1)') AS t(x boolean)),
          false, 'while run_jobs holds the cycle, the worker''s try-lock is refused');

SELECT dblink_disconnect('jobs_lock');
SELECT * FROM finish();
ROLLBACK;
