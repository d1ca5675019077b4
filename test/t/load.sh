#!/usr/bin/env bash
# Load: 16 ERP clients (pgbench running test/t/lib/erp.pgbench: new
# invoices, payments, disputes opened and answered, contact results) write
# for COBRANCA_LOAD_SECONDS (30 by default) into a sample portfolio while
# the background worker runs its cycle every second, in a cluster of the
# test's own.  Afterwards the bookkeeping, contact and audit invariants hold
# (test/t/lib/own_cluster.bash), no client failed, and the server log shows
# no error but the deadlocks it resolved.  The long run is
# `bash test/long` (doc/hardening.md).
. "$(dirname "$0")/lib/own_cluster.bash"

secs=${COBRANCA_LOAD_SECONDS:-30}
clients=${COBRANCA_LOAD_CLIENTS:-16}
rate=${COBRANCA_LOAD_TPS:-400}	# transactions per second, all clients together
echo "1..24"
oc_setup load
t0=$SECONDS
oc_start || { echo "Bail out! the cluster did not start"; oc_show_log; exit 1; }

createdb "$PGDATABASE"
q <<'SQL' >/dev/null || { echo "Bail out! fixtures failed"; oc_show_log; exit 1; }
CREATE EXTENSION cobranca;
SELECT cobranca.generate_sample(11, 150);
-- an e-mail step for every day from 3 before to 45 after the due date, so
-- that contacts are due whatever today's date is
INSERT INTO cobranca.cadence_rule (name, offset_days, channel)
SELECT pg_catalog.format('load D%s', d), d, 'email' FROM pg_catalog.generate_series(-3, 45) d;
-- the writes the clients committed (not audited): what the audit must show
CREATE SCHEMA ld;
CREATE TABLE ld.writes (tbl name NOT NULL, op text NOT NULL, row_id bigint NOT NULL);
SQL
oc_worker_on || { echo "Bail out! the cluster did not restart with the worker"; oc_show_log; exit 1; }
read -r min_payer max_payer max_invoice <<<"$(q -F ' ' -c "SELECT (SELECT min(id) FROM cobranca.payer), (SELECT max(id) FROM cobranca.payer), (SELECT max(id) FROM cobranca.invoice)")"

echo "# fixtures ready after $((SECONDS - t0)) s"
check "the worker runs its cycles on the sample portfolio" \
	poll 60 "SELECT EXISTS (SELECT 1 FROM cobranca.job_run WHERE job = 'generate_contacts')"
start_cycle=$(q -c "SELECT coalesce(max(cycle), 0) FROM cobranca.job_run")

# ---- the load
bench=$OC_TMP/pgbench.out
pgbench -n -c "$clients" -j 4 -T "$secs" -R "$rate" --max-tries=100 --failures-detailed \
	-D min_payer="$min_payer" -D max_payer="$max_payer" -D max_invoice="$max_invoice" \
	-f "$(dirname "$0")/lib/erp.pgbench" >"$bench" 2>&1
rc=$?
processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$bench")
failed_tx=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$bench")
retried=$(sed -n 's/^number of transactions retried: \([0-9]*\).*/\1/p' "$bench")
tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$bench")
check "pgbench: $clients clients ran $secs s without an aborted client" test "$rc" -eq 0
check "pgbench: no transaction failed (deadlocks and serialization failures retried)" test "${failed_tx:-1}" -eq 0
check "pgbench: the clients committed work" test "${processed:-0}" -gt 0
[ "$rc" -eq 0 ] && [ "${failed_tx:-1}" -eq 0 ] || sed 's/^/# /' "$bench" | tail -n 30
echo "# load: ${processed:-?} transactions, ${tps:-?} tps, ${retried:-0} retried, $clients clients, $secs s"

cycles=$(q -c "SELECT count(DISTINCT cycle) FROM cobranca.job_run WHERE cycle > $start_cycle")
echo "# worker cycles during the load: $cycles"
check "the worker kept cycling during the load" test "${cycles:-0}" -ge 3
check "no job failed during the load but for a deadlock the server resolved" \
	poll 1 "SELECT NOT EXISTS (SELECT 1 FROM cobranca.job_run WHERE cycle > $start_cycle
	         AND error IS NOT NULL AND sqlstate NOT IN ('40P01', '40001'))"
q -c "SELECT job, sqlstate, error FROM cobranca.job_run WHERE cycle > $start_cycle AND error IS NOT NULL" | sed 's/^/# job error: /'
check "the load wrote invoices, payments, disputes and answers" \
	poll 1 "SELECT count(DISTINCT (tbl, op)) = 4 FROM ld.writes"
check "contacts were generated and some of them cancelled by payments or disputes" \
	poll 1 "SELECT EXISTS (SELECT 1 FROM cobranca.contact WHERE status = 'scheduled')
	           AND EXISTS (SELECT 1 FROM cobranca.contact WHERE status = 'cancelled')"
q -c "SELECT 'contacts by status: ' || string_agg(status || ' ' || n, ', ') FROM (SELECT status, count(*) n FROM cobranca.contact GROUP BY 1 ORDER BY 1) s" | sed 's/^/# /'

# ---- the invariants, while the worker still runs
t1=$SECONDS
oc_invariants
echo "# invariants checked in $((SECONDS - t1)) s"

deadlocks=$(grep -c 'deadlock detected' "$OC_LOG")
echo "# deadlocks detected and resolved by the server: $deadlocks"
unexpected=$(grep -E '(ERROR|FATAL|PANIC):' "$OC_LOG" |
	grep -vE 'ERROR:  (deadlock detected|could not serialize access)' || true)
check "no error in the server log but resolved deadlocks and serialization failures" test -z "$unexpected"
[ -z "$unexpected" ] || echo "$unexpected" | head -n 20 | sed 's/^/# /'
check "no lock wait outlived the run (every logged wait was acquired or cancelled)" \
	poll 1 "SELECT NOT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted)"

check "the server stops cleanly" oc_stop fast
[ "$n" -eq 24 ] || echo "# planned 24, ran $n"
[ "$failed" -eq 0 ] || oc_show_log 30
exit "$failed"
