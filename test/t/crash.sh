#!/usr/bin/env bash
# Crashes: in a cluster of its own, with ERP clients writing (pgbench,
# test/t/lib/erp.pgbench) and the background worker cycling every second,
#  - kill -9 of the worker in the middle of a cycle, after generate_contacts
#    and the other jobs before it did their work (a test job then sleeps):
#    the postmaster resets every backend; after the restart nothing of the
#    killed cycle is visible (no job_run row, no marker written by it), and
#    the worker's next cycles run;
#  - pg_ctl stop -m immediate in the middle of the load: after the restart
#    the crash recovery leaves only committed work, a cycle run by hand
#    completes;
# and after each, the invariants of test/t/lib/own_cluster.bash hold:
# bookkeeping, contacts, notices, audit counts, audit_verify().
# COBRANCA_CRASH_ROUNDS repeats the pair (1 by default; bash test/long: 3).
. "$(dirname "$0")/lib/own_cluster.bash"

rounds=${COBRANCA_CRASH_ROUNDS:-1}
per_round=$((8 + 13 + 6 + 13))
echo "1..$((3 + rounds * per_round))"
oc_setup crash
oc_start || { echo "Bail out! the cluster did not start"; oc_show_log; exit 1; }

createdb "$PGDATABASE"
q <<'SQL' >/dev/null || { echo "Bail out! fixtures failed"; oc_show_log; exit 1; }
CREATE EXTENSION cobranca;
SELECT cobranca.generate_sample(17, 150);
INSERT INTO cobranca.cadence_rule (name, offset_days, channel)
SELECT pg_catalog.format('crash D%s', d), d, 'email' FROM pg_catalog.generate_series(-3, 45) d;
CREATE SCHEMA ld;
CREATE TABLE ld.writes (tbl name NOT NULL, op text NOT NULL, row_id bigint NOT NULL);
-- a job after generate_contacts (30) and before the audit seal (50): it
-- leaves a mark, names its cycle in the server log, and sleeps while armed
CREATE TABLE ld.mark (cycle bigint NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE ld.arm (sleep float8 NOT NULL);
INSERT INTO ld.arm VALUES (0);
-- one shot: the first cycle after arming pauses, not the restarted worker's
-- (sequences are not rolled back, and resume past their last value after a
-- crash)
CREATE SEQUENCE ld.shot;
CREATE FUNCTION ld.pause(as_of timestamptz) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  s float8;
BEGIN
  SELECT sleep INTO s FROM ld.arm;
  IF s > 0 AND nextval('ld.shot') = 1 THEN
    INSERT INTO ld.mark (cycle) VALUES (currval('cobranca.job_cycle_seq'));
    RAISE LOG 'crash test: cycle % paused', currval('cobranca.job_cycle_seq');
    PERFORM pg_sleep(s);
  END IF;
  RETURN 0;
END $$;
INSERT INTO cobranca.job (name, position, function, description, enabled)
VALUES ('crash_pause', 35, 'ld.pause(timestamptz)', 'crash test: sleeps while armed', true);
SQL
oc_worker_on || { echo "Bail out! the cluster did not restart with the worker"; oc_show_log; exit 1; }
read -r min_payer max_payer max_invoice <<<"$(q -F ' ' -c "SELECT (SELECT min(id) FROM cobranca.payer), (SELECT max(id) FROM cobranca.payer), (SELECT max(id) FROM cobranca.invoice)")"
check "the worker runs its cycles" \
	poll 60 "SELECT EXISTS (SELECT 1 FROM cobranca.job_run WHERE job = 'crash_pause' AND error IS NULL)"
check "the sample portfolio has open invoices and contacts" \
	poll 60 "SELECT EXISTS (SELECT 1 FROM cobranca.contact) AND EXISTS (SELECT 1 FROM cobranca.invoice WHERE status = 'open')"

load_pid=
load_start() {	# ERP clients in the background for up to $1 seconds
	pgbench -n -c 8 -j 2 -T "$1" -R 200 --max-tries=100 \
		-D min_payer="$min_payer" -D max_payer="$max_payer" -D max_invoice="$max_invoice" \
		-f "$(dirname "$0")/lib/erp.pgbench" >"$OC_TMP/pgbench.$2.out" 2>&1 &
	load_pid=$!
}
load_stop() {	# the clients lost their server: pgbench ends by itself
	[ -n "$load_pid" ] && { wait "$load_pid" 2>/dev/null; load_pid=; }
}
# writes: committed client writes so far
writes() { q -c "SELECT count(*) FROM ld.writes" 2>/dev/null || echo 0; }
restarted() {	# the server accepts connections again after a crash
	poll 120 "SELECT NOT pg_is_in_recovery()"
}

for round in $(seq 1 "$rounds"); do
	# ---- kill -9 of the worker in the middle of a cycle
	load_start 60 "kill$round"
	sleep 3
	q -c "SELECT setval('ld.shot', 1, false)" -c "UPDATE ld.arm SET sleep = 60" >/dev/null
	if poll 60 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'cobranca worker' AND wait_event = 'PgSleep')"; then
		wpid=$(q -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'cobranca worker'")
		before=$(writes)
		kill -9 "$wpid"
		check "round $round: kill -9 of the worker (pid $wpid) in the middle of its cycle" true
	else
		wpid=0 before=0
		check "round $round: kill -9 of the worker in the middle of its cycle (it never reached the pause)" false
	fi
	check "round $round: the postmaster resets the backends and accepts connections again" restarted
	load_stop
	check "round $round: ERP clients had committed writes before the crash" test "${before:-0}" -gt 0
	killed=$(grep -o 'crash test: cycle [0-9]* paused' "$OC_LOG" | tail -n 1 | grep -o '[0-9][0-9]*')
	check "round $round: nothing of the killed cycle ${killed:-?} is visible (no job_run row, no mark)" \
		poll 5 "SELECT NOT EXISTS (SELECT 1 FROM cobranca.job_run WHERE cycle = ${killed:-0})
		        AND NOT EXISTS (SELECT 1 FROM ld.mark WHERE cycle = ${killed:-0})"
	check "round $round: the clients' committed writes survived" \
		test "$(writes)" -ge "${before:-0}"
	q -c "UPDATE ld.arm SET sleep = 0" >/dev/null
	since=$(q -c "SELECT clock_timestamp()")
	check "round $round: a new worker runs whole cycles again" \
		poll 90 "SELECT EXISTS (SELECT 1 FROM cobranca.job_run r JOIN pg_stat_activity a ON a.pid = r.pid
		         WHERE r.started_at > '$since' AND r.job = 'prune_job_runs' AND a.backend_type = 'cobranca worker'
		           AND a.pid <> $wpid)"
	check "round $round: no job run is left open: every cycle's rows are finished" \
		poll 1 "SELECT NOT EXISTS (SELECT 1 FROM cobranca.job_run WHERE finished_at IS NULL OR finished_at < started_at)"
	check "round $round: no cycle lock is held by a process that is gone" \
		poll 1 "SELECT NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.classid = 1668244082
		         AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = l.pid))"
	oc_invariants

	# ---- immediate stop of the postmaster in the middle of the load
	load_start 60 "stop$round"
	sleep 6
	before=$(writes)
	check "round $round: pg_ctl stop -m immediate under load" oc_stop immediate
	load_stop
	check "round $round: the server restarts after the immediate stop (crash recovery)" oc_start
	check "round $round: ERP clients had committed writes before the stop, and they survived" \
		test "${before:-0}" -gt 0 -a "$(writes)" -ge "${before:-0}"
	check "round $round: the worker runs cycles again after the restart" \
		poll 90 "SELECT EXISTS (SELECT 1 FROM cobranca.job_run r JOIN pg_stat_activity a ON a.pid = r.pid
		         WHERE a.backend_type = 'cobranca worker')"
	check "round $round: a cycle run by hand completes with every job ok" \
		poll 120 "SELECT count(*) > 0 AND count(error) = 0 FROM cobranca.run_jobs()"
	check "round $round: no job run is left open after the restart" \
		poll 1 "SELECT NOT EXISTS (SELECT 1 FROM cobranca.job_run WHERE finished_at IS NULL OR finished_at < started_at)"
	oc_invariants
done

unexpected=$(grep -E '(ERROR|PANIC):' "$OC_LOG" |
	grep -vE 'ERROR:  (deadlock detected|could not serialize access)' || true)
check "no ERROR nor PANIC in the server log (crashes are reported as LOG and FATAL)" test -z "$unexpected"
[ -z "$unexpected" ] || echo "$unexpected" | head -n 20 | sed 's/^/# /'
[ "$n" -eq $((3 + rounds * per_round)) ] || echo "# planned $((3 + rounds * per_round)), ran $n"
[ "$failed" -eq 0 ] || oc_show_log 40
exit "$failed"
