-- The collection cycle: who runs it, what each job did, and the log.
\pset footer off

\echo '== The background worker (empty when the library is not preloaded)'
-- give a preloaded worker up to 30 s to finish a cycle of its own
DO $wait$
DECLARE
  worker int;
BEGIN
  FOR i IN 1..60 LOOP
    SELECT a.pid INTO worker FROM pg_catalog.pg_stat_activity a WHERE a.backend_type = 'cobranca worker';
    EXIT WHEN worker IS NULL
           OR EXISTS (SELECT 1 FROM cobranca.job_run r WHERE r.pid = worker);
    PERFORM pg_catalog.pg_sleep(0.5);
  END LOOP;
END
$wait$;
SELECT a.backend_type, a.application_name, a.datname,
       pg_catalog.current_setting('cobranca.naptime') AS naptime, a.state
  FROM pg_catalog.pg_stat_activity a
 WHERE a.backend_type = 'cobranca worker';

\echo '== Cycles so far, by who ran them'
SELECT CASE WHEN a.backend_type = 'cobranca worker' THEN 'background worker'
            WHEN r.pid = pg_catalog.pg_backend_pid() THEN 'this session'
            ELSE 'run_jobs() in another session' END AS ran_by,
       pg_catalog.count(DISTINCT r.cycle) AS cycles,
       pg_catalog.count(*) AS job_runs,
       pg_catalog.count(r.error) AS failed
  FROM cobranca.job_run r
  LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = r.pid
 GROUP BY 1 ORDER BY 1;

\echo '== Last run of every job'
SELECT job, position, enabled, last_cycle, last_rows, last_error
  FROM cobranca.job_status ORDER BY position;

\echo '== A cycle run by hand for one instant, twice (waits while the worker is in a cycle): the second creates nothing new; refresh jobs rewrite their snapshots'
SELECT pg_catalog.now() AS as_of \gset
SELECT job, rows, error FROM cobranca.run_jobs(:'as_of');
SELECT job, rows, error FROM cobranca.run_jobs(:'as_of');
