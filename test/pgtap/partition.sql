-- Time partitioning: the job maintain_partitions makes the monthly
-- partitions ahead, rows go to their month's partition (or the default
-- one, moved out when their month is made), and detach_partition archives
-- a past month only when nothing forbids it.
BEGIN;
SELECT plan(37);

-- ---- the job and its setting
SELECT is((SELECT function::text FROM cobranca.job WHERE name = 'maintain_partitions'),
          'cobranca.maintain_partitions(timestamp with time zone)', 'job maintain_partitions is registered');
SELECT is((SELECT position FROM cobranca.job WHERE name = 'maintain_partitions'), 5,
          'it runs first in the cycle (position 5), before the jobs that write');
SELECT is(cobranca.partition_months_ahead(), 3, 'cobranca.partition_months_ahead defaults to 3');
SELECT cobranca.job_run_retention_days() > 0 AS library_loaded \gset
SELECT throws_ok($$SET LOCAL cobranca.partition_months_ahead = '99'$$, '22023', NULL,
                 'a setting out of 0..36 is refused');
SET LOCAL cobranca.partition_months_ahead = '1';

SELECT cmp_ok(cobranca.maintain_partitions('2031-05-10 12:00+00'), '>=', 4::bigint,
              'the job makes the partitions of the as_of month and the next one, per table');
SELECT ok(to_regclass('cobranca.job_run_y2031m05') IS NOT NULL AND to_regclass('cobranca.job_run_y2031m06') IS NOT NULL,
          'job_run: the as_of month and the next month exist');
SELECT ok(to_regclass('cobranca.audit_log_y2031m06') IS NOT NULL, 'audit_log: the next month exists');
SELECT ok(to_regclass('cobranca.job_run_y2031m07') IS NULL, 'no partition beyond partition_months_ahead');
SELECT ok(to_regclass('cobranca.audit_log_' || to_char(now() AT TIME ZONE 'UTC', '"y"YYYY"m"MM')) IS NOT NULL,
          'the clock''s month exists too (audit rows carry the clock time)');
SELECT is(cobranca.maintain_partitions('2031-05-10 12:00+00'), 0::bigint, 'run again, the job makes nothing');
SELECT is((SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_class c WHERE c.oid = 'cobranca.job_run_y2031m06'::regclass),
          'FOR VALUES FROM (''2031-06-01 00:00:00+00'') TO (''2031-07-01 00:00:00+00'')',
          'timestamptz keys are partitioned by UTC month');
SELECT ok((SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE oid = 'cobranca.audit_log_y2031m06'::regclass),
          'a new partition has row-level security enabled and forced');

-- ---- routing
INSERT INTO cobranca.job_run (cycle, job, as_of, started_at, finished_at, rows, pid)
VALUES (-1, 'pt_routed', '2031-06-15', '2031-06-15 10:00+00', '2031-06-15 10:00:01+00', 0, 0),
       (-1, 'pt_default', '2032-01-15', '2032-01-15 10:00+00', '2032-01-15 10:00:01+00', 0, 0);
SELECT is((SELECT tableoid::regclass::text FROM cobranca.job_run WHERE job = 'pt_routed'), 'cobranca.job_run_y2031m06',
          'a row goes to its month''s partition');
SELECT is((SELECT tableoid::regclass::text FROM cobranca.job_run WHERE job = 'pt_default'), 'cobranca.job_run_default',
          'a row of a month without partition goes to the default partition');
SELECT is(cobranca.create_partition('cobranca.job_run', '2032-01-20'), true, 'create_partition makes the month');
SELECT is((SELECT tableoid::regclass::text FROM cobranca.job_run WHERE job = 'pt_default'), 'cobranca.job_run_y2032m01',
          'and moves the month''s rows out of the default partition');
SELECT is(cobranca.create_partition('cobranca.job_run', '2032-01-01'), false, 'a month is made once');
SELECT throws_ok($$SELECT cobranca.create_partition('cobranca.creditor', '2032-01-01')$$, '42809', NULL,
                 'only tables partitioned by month have monthly partitions');

-- audit rows written by the C capture trigger are routed like any other
INSERT INTO cobranca.creditor (name, document, kind, ans_registry) VALUES ('PT Operadora', '60574652000161', 'health_plan', '654321');
SELECT is((SELECT a.tableoid::regclass::text FROM cobranca.audit_log a
            WHERE a.table_name = 'creditor' AND a.new_values ->> 'name' = 'PT Operadora'),
          'cobranca.audit_log_' || to_char(now() AT TIME ZONE 'UTC', '"y"YYYY"m"MM'),
          'the capture trigger writes into the partition of the clock''s month');
SELECT throws_ok(format('TRUNCATE %s', 'cobranca.audit_log_' || to_char(now() AT TIME ZONE 'UTC', '"y"YYYY"m"MM')),
                 '42501', NULL, 'a partition of audit_log refuses TRUNCATE too');
SELECT throws_ok(format('DELETE FROM %s', 'cobranca.audit_log_' || to_char(now() AT TIME ZONE 'UTC', '"y"YYYY"m"MM')),
                 '42501', NULL, 'and DELETE');

-- ---- detaching for archive
-- chain 987654 (no such creditor: audit rows need none): one row in
-- January 2026, in the default partition until its month is made, and a
-- newer one in the current month
INSERT INTO cobranca.audit_log (logged_at, table_name, operation, creditor_id, new_values)
VALUES ('2026-01-10 12:00+00', 'pt_table', 'INSERT', 987654, '{"n": 1}'),
       (now(), 'pt_table', 'INSERT', 987654, '{"n": 2}');
SELECT is(cobranca.create_partition('cobranca.audit_log', '2026-01-01'), true, 'audit_log: January 2026 is made');
SELECT is((SELECT tableoid::regclass::text FROM cobranca.audit_log WHERE table_name = 'pt_table' AND new_values ->> 'n' = '1'),
          'cobranca.audit_log_y2026m01', 'the January row moved into it, unchanged');
SELECT throws_ok($$SELECT cobranca.detach_partition('cobranca.job_run', '2032-01-01')$$, '55000', NULL,
                 'a month that has not ended is not detached');
SELECT throws_ok($$SELECT cobranca.detach_partition('cobranca.audit_log', '2026-01-01')$$, '55000',
                 'partition cobranca.audit_log_y2026m01 holds 1 unsealed audit rows',
                 'an audit month with unsealed rows is not detached');
SELECT cmp_ok(cobranca.audit_seal(), '>', 0::bigint, 'seal');
INSERT INTO cobranca.audit_hold (creditor_id, reason) VALUES (NULL, 'pt: litigation');
SELECT throws_ok($$SELECT cobranca.detach_partition('cobranca.audit_log', '2026-01-01')$$, '55000',
                 'partition cobranca.audit_log_y2026m01 is under an audit hold',
                 'a month under an audit hold is not detached');
SELECT is((SELECT tableoid::regclass::text FROM cobranca.audit_log WHERE table_name = 'pt_table' AND new_values ->> 'n' = '1'),
          'cobranca.audit_log_y2026m01', 'a refused detach leaves the partition attached');
DELETE FROM cobranca.audit_hold WHERE reason = 'pt: litigation';
SELECT is(cobranca.detach_partition('cobranca.audit_log', '2026-01-01')::text, 'cobranca_archive.audit_log_y2026m01',
          'a sealed past month without hold is detached into schema cobranca_archive');
SELECT is((SELECT count(*) FROM cobranca.audit_log WHERE table_name = 'pt_table'), 1::bigint,
          'its rows have left the log');
SELECT is((SELECT count(*) FROM cobranca_archive.audit_log_y2026m01_seal), 1::bigint,
          'their seals went with them');
SELECT is((SELECT ok FROM cobranca.audit_verify()), true, 'the chains still verify');

-- a table without creditors (the job history): only a hold on all creditors stops it
INSERT INTO cobranca.job_run (cycle, job, as_of, started_at, finished_at, rows, pid)
VALUES (-1, 'pt_old', '2025-02-10', '2025-02-10 10:00+00', '2025-02-10 10:00:01+00', 0, 0);
SELECT is(cobranca.create_partition('cobranca.job_run', '2025-02-01'), true, 'job_run: February 2025 is made');
SELECT is(cobranca.detach_partition('cobranca.job_run', '2025-02-01')::text, 'cobranca_archive.job_run_y2025m02',
          'a past month of job_run is detached');
SELECT is((SELECT count(*) FROM cobranca.job_run WHERE job = 'pt_old') || '/' ||
          (SELECT count(*) FROM cobranca_archive.job_run_y2025m02 WHERE job = 'pt_old'), '0/1',
          'its rows are in the archive, no longer in the table');

-- a range attached by hand is respected
CREATE TABLE cobranca.pt_quarter (LIKE cobranca.job_run INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
ALTER TABLE cobranca.job_run ATTACH PARTITION cobranca.pt_quarter
  FOR VALUES FROM ('2024-01-01 00:00+00') TO ('2024-04-01 00:00+00');
SELECT is(cobranca.create_partition('cobranca.job_run', '2024-02-01'), false,
          'a month inside a partition attached by hand is not made');
SELECT is(cobranca.create_partition('cobranca.job_run', '2024-04-01'), true, 'the month after it is');
SELECT * FROM finish();
ROLLBACK;
