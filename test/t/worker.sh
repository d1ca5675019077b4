#!/usr/bin/env bash
# The background worker, in a throwaway cluster of its own started with
# shared_preload_libraries = 'cobranca' (the suite's cluster does not preload
# the library).  Every wait is a bounded poll.
#
#  - the worker shows in pg_stat_activity and runs cycles that land in
#    cobranca.job_run; a job that raises is logged while the others run
#  - while another session holds the cycle lock, it skips its cycles
#  - kill -9 in the middle of a cycle: the postmaster restarts the worker,
#    and an idempotent test job neither repeats nor loses work
#  - a cancelled cycle is rolled back and logged, and the worker lives on
#  - SIGTERM ends it promptly, even in the middle of a job
#  - SIGHUP: a new cobranca.naptime spaces the cycles; a new
#    cobranca.database makes it reconnect there, where it waits without
#    error until the extension is created
#  - a standby made with pg_basebackup runs no worker
set -uo pipefail
. "${COBRANCA_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/tools/env.sh"

echo "1..25"
n=0 failed=0
check() {	# check "description" command...: one TAP line
	local what=$1; shift
	n=$((n + 1))
	if "$@"; then echo "ok $n - $what"; else echo "not ok $n - $what"; failed=1; fi
}
skip() { n=$((n + 1)); echo "ok $n # skip $1"; }

bindir=$("$PG_CONFIG" --bindir)
libdir=$("$PG_CONFIG" --pkglibdir)
tmp=$(mktemp -d /tmp/cobranca_worker.XXXXXX)
as_pg() {	# initdb and the server refuse to run as root
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" -eq 0 ] && chown postgres "$tmp"

export PGHOST=$tmp PGPORT=5432 PGUSER=postgres PGDATABASE=cobranca_worker
unset PGPASSWORD PGSERVICE
primary=$tmp/primary
standby=$tmp/standby
standby_port=5433

cleanup() {
	for d in "$standby" "$primary"; do
		[ -f "$d/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1
	done
	[ -n "${WORKER_TEST_LOG:-}" ] && cp "$tmp/primary.log" "$WORKER_TEST_LOG"
	rm -rf "$tmp"
}
trap cleanup EXIT

q() { psql -XAtq -v ON_ERROR_STOP=1 "$@"; }
# poll SECONDS SQL [DB]: until SQL returns true; false after SECONDS
poll() {
	local until=$((SECONDS + $1)) db=${3:-$PGDATABASE}
	while [ "$SECONDS" -lt "$until" ]; do
		[ "$(q -d "$db" -c "$2" 2>/dev/null)" = t ] && return 0
		sleep 0.3
	done
	return 1
}
worker_pid() { q -d "${1:-$PGDATABASE}" -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'cobranca worker'" 2>/dev/null; }
show_log() { echo "# --- server log (tail)"; tail -n 40 "$tmp/primary.log" | sed 's/^/# /'; }

# ---- the cluster: first without the worker, to lay out the test database
as_pg "$bindir/initdb" -D "$primary" -U postgres --auth=trust --no-sync -E UTF8 --locale=C >/dev/null || { echo "Bail out! initdb failed"; exit 1; }
cat >>"$primary/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$tmp'
port = 5432
fsync = off
extension_destdir = '$STAGE'
dynamic_library_path = '$STAGE$libdir:\$libdir'
EOF
as_pg "$bindir/pg_ctl" -D "$primary" -l "$tmp/primary.log" -w -t 60 start >/dev/null || { echo "Bail out! the cluster did not start"; exit 1; }

createdb cobranca_worker
q <<'SQL' || { echo "Bail out! fixtures failed"; show_log; exit 1; }
CREATE EXTENSION cobranca;
CREATE SCHEMA wt;
-- an idempotent job: marks every item not yet done; a repeat adds nothing
CREATE TABLE wt.item (id integer PRIMARY KEY);
CREATE TABLE wt.done (item_id integer NOT NULL, as_of timestamptz NOT NULL);	-- no unique key on purpose
INSERT INTO wt.item SELECT pg_catalog.generate_series(1, 5);
CREATE FUNCTION wt.tick(as_of timestamptz) RETURNS bigint LANGUAGE sql AS $$
  WITH ins AS (
    INSERT INTO wt.done (item_id, as_of)
    SELECT i.id, as_of FROM wt.item i
     WHERE NOT EXISTS (SELECT 1 FROM wt.done d WHERE d.item_id = i.id)
    RETURNING 1)
  SELECT count(*) FROM ins $$;
CREATE FUNCTION wt.boom(as_of timestamptz) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'wt boom' USING ERRCODE = 'data_exception'; END $$;
CREATE TABLE wt.conf (secs float8 NOT NULL);
INSERT INTO wt.conf VALUES (0);
CREATE FUNCTION wt.slow(as_of timestamptz) RETURNS bigint LANGUAGE sql AS $$
  SELECT pg_catalog.pg_sleep(secs) FROM wt.conf; SELECT 0::bigint $$;
INSERT INTO cobranca.job (name, position, function, description, enabled) VALUES
  ('wt_boom', 1000, 'wt.boom(timestamptz)', 'test: always fails', true),
  ('wt_tick', 1001, 'wt.tick(timestamptz)', 'test: idempotent', true),
  ('wt_slow', 1002, 'wt.slow(timestamptz)', 'test: sleeps', false);
SQL
sample=no
if [ "$(q -c "SELECT to_regproc('cobranca.generate_sample') IS NOT NULL")" = t ]; then
	q -c "SELECT cobranca.generate_sample(7, 40)" >/dev/null && sample=yes
	# whatever today's date, some invoices fall on a cadence step today
	[ "$sample" = yes ] && q -c "INSERT INTO cobranca.invoice (payer_id, kind, issued_on, due_on, amount)
	      SELECT p.id, 'private', current_date - 40, current_date - d, 150.00
	        FROM (SELECT id FROM cobranca.payer
	               WHERE email IS NOT NULL AND whatsapp IS NOT NULL AND phone IS NOT NULL
	                 AND cardinality(opt_out) = 0 ORDER BY id LIMIT 3) p,
	             unnest(ARRAY[-3, -1, 3, 10, 30, 45]) AS d" >/dev/null
	# an e-mail step for every day from 3 before to 60 after the due date, so
	# that some contact is due whatever today's date is
	q -c "INSERT INTO cobranca.cadence_rule (name, offset_days, channel)
	      SELECT pg_catalog.format('wt D%s', d), d, 'email' FROM pg_catalog.generate_series(-3, 60) d" >/dev/null
fi
contacts=no
[ "$sample" = yes ] && [ "$(q -c "SELECT EXISTS (SELECT 1 FROM cobranca.job WHERE name = 'generate_contacts' AND enabled)")" = t ] && contacts=yes

as_pg "$bindir/pg_ctl" -D "$primary" -w -t 60 stop >/dev/null
cat >>"$primary/postgresql.conf" <<EOF
shared_preload_libraries = 'cobranca'
cobranca.database = 'cobranca_worker'
cobranca.naptime = 1
EOF
as_pg "$bindir/pg_ctl" -D "$primary" -l "$tmp/primary.log" -w -t 60 start >/dev/null || { echo "Bail out! the preloaded cluster did not start"; show_log; exit 1; }

# ---- it runs
check "the worker shows in pg_stat_activity, connected to cobranca.database" \
	poll 30 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'cobranca worker'
	         AND application_name = 'cobranca worker' AND datname = 'cobranca_worker')"
wpid=$(worker_pid)
check "a cycle ran: cobranca.job_run has the worker's rows" \
	poll 60 "SELECT EXISTS (SELECT 1 FROM cobranca.job_run WHERE pid = ${wpid:-0} AND job = 'wt_tick')"
check "a job that raises is logged with its error while the next job of its cycle succeeds" \
	poll 30 "SELECT EXISTS (SELECT 1 FROM cobranca.job_run b JOIN cobranca.job_run t USING (cycle)
	         WHERE b.job = 'wt_boom' AND b.error = 'wt boom' AND b.sqlstate = '22000'
	           AND t.job = 'wt_tick' AND t.error IS NULL)"
check "the worker survived the failing job (same process, more cycles)" \
	poll 60 "SELECT count(DISTINCT cycle) >= 3 AND pg_catalog.bool_and(pid = ${wpid:-0})
	         FROM cobranca.job_run WHERE job = 'wt_boom'"
check "the idempotent job did its work once" \
	poll 30 "SELECT count(*) = 5 AND count(DISTINCT item_id) = 5 FROM wt.done"
# ---- a session holding the cycle lock: the worker skips, then resumes
q -c "BEGIN; SELECT pg_advisory_xact_lock(1668244082, 1); SELECT pg_sleep(6); COMMIT" >/dev/null 2>&1 &
holder=$!
if poll 30 "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = 1668244082 AND objid = 1
            AND granted AND pid <> (SELECT pid FROM pg_stat_activity WHERE backend_type = 'cobranca worker'))"; then
	held_at=$(q -c "SELECT pg_catalog.clock_timestamp()")
	wait "$holder"
	check "while another session holds the cycle lock the worker starts no cycle" \
		poll 1 "SELECT NOT EXISTS (SELECT 1 FROM cobranca.job_run
		        WHERE started_at BETWEEN '$held_at' AND '$held_at'::timestamptz + interval '3 s')"
	check "and it says so in the server log" grep -q "another session is running a collection cycle; cycle skipped" "$tmp/primary.log"
	check "once the lock is released, cycles resume" \
		poll 30 "SELECT EXISTS (SELECT 1 FROM cobranca.job_run WHERE started_at > '$held_at'::timestamptz + interval '3 s')"
else
	wait "$holder"
	check "while another session holds the cycle lock the worker starts no cycle (the lock was never taken)" false
	check "and it says so in the server log" false
	check "once the lock is released, cycles resume" false
fi
if [ "$sample" = yes ]; then
	# every shipped job ran in the worker's first cycle and none failed
	shipped="SELECT r.job, r.rows, r.error FROM cobranca.job j
	         JOIN cobranca.job_run r ON r.job = j.name AND r.cycle = (SELECT min(cycle) FROM cobranca.job_run)
	         WHERE j.enabled AND j.name NOT LIKE 'wt\_%'"
	check "on sample data the worker's cycle runs every shipped job without error" \
		poll 60 "SELECT count(*) = (SELECT count(*) FROM cobranca.job WHERE enabled AND name NOT LIKE 'wt\_%')
		         AND count(error) = 0 FROM ($shipped) s"
	[ "$failed" -eq 0 ] || q -c "$shipped" | sed 's/^/# /'
else
	skip "no sample generator in this build"
fi
if [ "$contacts" = yes ]; then
	check "on sample data the worker's cycles create contacts" \
		poll 60 "SELECT EXISTS (SELECT 1 FROM cobranca.contact)"
else
	skip "no generate_contacts job in this build"
fi

# ---- kill -9 in the middle of a cycle: work done before the kill is rolled
# back with the cycle and done again, once, after the restart
q -c "INSERT INTO wt.item SELECT pg_catalog.generate_series(6, 10);
      UPDATE wt.conf SET secs = 4;
      UPDATE cobranca.job SET enabled = true WHERE name = 'wt_slow'"
if poll 60 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'cobranca worker' AND wait_event = 'PgSleep')"; then
	wpid=$(worker_pid)
	kill -9 "$wpid"
	check "kill -9 of the worker in the middle of a cycle" true
else
	check "kill -9 of the worker in the middle of a cycle (it never reached the sleeping job)" false
fi
check "the postmaster restarts the worker (new process)" \
	poll 90 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'cobranca worker' AND pid <> ${wpid:-0})"
check "after the restart the interrupted work is done, exactly once" \
	poll 60 "SELECT count(*) = 10 AND count(DISTINCT item_id) = 10 FROM wt.done"
if [ "$contacts" = yes ]; then
	check "no duplicated contact (payer, channel, day) after the restart" \
		poll 5 "SELECT NOT EXISTS (SELECT 1 FROM cobranca.contact WHERE status <> 'cancelled'
		         GROUP BY payer_id, channel, (scheduled_at AT TIME ZONE 'America/Sao_Paulo')::date HAVING count(*) > 1)"
else
	skip "no generate_contacts job in this build"
fi

# ---- a cancelled cycle is rolled back and logged; the worker lives on
q -c "UPDATE wt.conf SET secs = 120"
if poll 60 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'cobranca worker' AND wait_event = 'PgSleep')"; then
	wpid=$(worker_pid)
	q -c "SELECT pg_cancel_backend($wpid)" >/dev/null
	check "pg_cancel_backend: the cycle is logged as failed (57014) by the same worker" \
		poll 30 "SELECT EXISTS (SELECT 1 FROM cobranca.job_run WHERE job = 'run_jobs' AND sqlstate = '57014' AND pid = $wpid)"
	check "and the worker carries on with its next cycle" \
		poll 60 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $wpid AND wait_event = 'PgSleep')"
else
	check "pg_cancel_backend: the cycle is logged as failed (it never reached the sleeping job)" false
	check "and the worker carries on with its next cycle" false
fi

# ---- SIGTERM in the middle of a job ends the worker promptly
if poll 60 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'cobranca worker' AND wait_event = 'PgSleep')"; then
	wpid=$(worker_pid)
	q -c "SELECT pg_terminate_backend($wpid)" >/dev/null
	check "SIGTERM ends the worker within 5 s although its job sleeps 120 s" \
		poll 5 "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $wpid)"
else
	check "SIGTERM ends the worker promptly (it never reached the sleeping job)" false
fi
q -c "UPDATE cobranca.job SET enabled = false WHERE name = 'wt_slow'"
check "and the postmaster starts it again" \
	poll 40 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'cobranca worker' AND pid <> ${wpid:-0})"

# ---- SIGHUP: naptime
wpid=$(worker_pid)
q -c "ALTER SYSTEM SET cobranca.naptime = 3" -c "SELECT pg_reload_conf()" >/dev/null
since=$(q -c "SELECT pg_catalog.clock_timestamp()")
poll 90 "SELECT count(DISTINCT cycle) >= 4 FROM cobranca.job_run WHERE pid = ${wpid:-0} AND started_at > '$since'" >/dev/null
gaps="WITH c AS (SELECT cycle, min(started_at) AS t FROM cobranca.job_run
                 WHERE pid = ${wpid:-0} AND started_at > '$since' GROUP BY cycle),
            g AS (SELECT t - lag(t) OVER (ORDER BY t) AS gap FROM c)
       SELECT count(gap) >= 3 AND min(gap) >= interval '2.5 s' FROM g"
check "after SIGHUP the cycles start naptime (3 s) apart" poll 1 "$gaps"

# ---- SIGHUP: another database; the extension is not there yet
createdb cobranca_worker2
q -c "ALTER SYSTEM SET cobranca.database = 'cobranca_worker2'" -c "SELECT pg_reload_conf()" >/dev/null
check "a new cobranca.database: the worker reconnects there" \
	poll 40 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'cobranca worker' AND datname = 'cobranca_worker2')"
wpid=$(worker_pid)
sleep 7
check "without the extension it skips its cycles and stays up" \
	poll 1 "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = ${wpid:-0})"
q -d cobranca_worker2 -c "CREATE EXTENSION cobranca"
check "once the extension is created there, cycles run there" \
	poll 60 "SELECT EXISTS (SELECT 1 FROM cobranca.job_run WHERE pid = ${wpid:-0})" cobranca_worker2

# ---- a standby runs nothing
if as_pg "$bindir/pg_basebackup" -h "$tmp" -p 5432 -U postgres -D "$standby" -R -X stream -c fast >/dev/null 2>&1 &&
   as_pg "$bindir/pg_ctl" -D "$standby" -l "$tmp/standby.log" -o "-p $standby_port" -w -t 60 start >/dev/null; then
	check "a standby made with pg_basebackup is in recovery" \
		poll 20 "SELECT pg_is_in_recovery()" "port=$standby_port dbname=cobranca_worker2"
	sleep 4
	check "and runs no worker" \
		poll 1 "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'cobranca worker')" "port=$standby_port dbname=cobranca_worker2"
	as_pg "$bindir/pg_ctl" -D "$standby" -m fast -w -t 60 stop >/dev/null
else
	check "a standby made with pg_basebackup starts" false
	check "and runs no worker" false
fi

# ---- a clean shutdown does not wait for the worker
start=$SECONDS
as_pg "$bindir/pg_ctl" -D "$primary" -m fast -w -t 60 stop >/dev/null
check "pg_ctl stop -m fast returns within 15 s" test $((SECONDS - start)) -le 15

[ "$n" -eq 25 ] || echo "# planned 25, ran $n"
[ "$failed" -eq 0 ] || show_log
