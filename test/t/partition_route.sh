#!/usr/bin/env bash
# The audit writer (src/audit.c) routes its rows itself.  While the job
# makes the current month's partition (moving that month's rows out of the
# default partition), a writer whose audit row was heading for the default
# partition waits, then writes into the new partition: no row of a month
# that has a partition is left behind in the default one.
set -uo pipefail
db=cobranca_partition_route_$$
trap 'dropdb --if-exists "$db"' EXIT
echo "1..4"
q() { psql -XAtq -v ON_ERROR_STOP=1 -d "$db" -c "$1"; }

# a fresh install has no monthly partition: every audit row goes to the default one
createdb "$db" && q "CREATE EXTENSION cobranca" &&
	q "INSERT INTO cobranca.creditor (name, document, kind, ans_registry)
	   VALUES ('Rota Operadora', '60574652000161', 'health_plan', '654321')"
month=$(q "SELECT 'cobranca.audit_log_' || to_char(now() AT TIME ZONE 'UTC', '\"y\"YYYY\"m\"MM')")
n=$(q "SELECT count(*) FROM cobranca.audit_log_default")
[ "$n" -gt 0 ] && echo "ok 1 - before the first cycle, audit rows go to the default partition ($n)" \
	|| echo "not ok 1 - before the first cycle, audit rows go to the default partition ($n)"

# the job makes the month in a transaction kept open for a while
psql -XAtq -d "$db" -c "BEGIN; SELECT cobranca.maintain_partitions(now()); SELECT pg_sleep(3); COMMIT;" >/dev/null &
job=$!
for _ in $(seq 1 100); do
	held=$(q "SELECT count(*) FROM pg_locks l WHERE l.relation = 'cobranca.audit_log_default'::regclass
	            AND l.mode = 'AccessExclusiveLock' AND l.granted AND l.pid <> pg_backend_pid()")
	[ "$held" = "1" ] && break
	sleep 0.1
done
# meanwhile a writer changes a row: its audit row waits for the job
q "UPDATE cobranca.creditor SET name = 'Rota Operadora S.A.' WHERE document = '60574652000161'" &
writer=$!
wait $job
wait $writer
[ "$held" = "1" ]; r=$?
[ $r -eq 0 ] && echo "ok 2 - the job held the default partition while making the month" \
	|| echo "not ok 2 - the job held the default partition while making the month"

where=$(q "SELECT a.tableoid::regclass FROM cobranca.audit_log a
            WHERE a.table_name = 'creditor' AND a.operation = 'UPDATE'")
[ "$where" = "$month" ] && echo "ok 3 - the waiting writer's audit row went into the new partition ($where)" \
	|| echo "not ok 3 - the waiting writer's audit row went into the new partition ($where, want $month)"

left=$(q "SELECT count(*) FROM cobranca.audit_log_default d
           WHERE d.logged_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'")
ok=$(q "SELECT cobranca.audit_seal() >= 0 AND (SELECT ok FROM cobranca.audit_verify())")
[ "$left" = "0" ] && [ "$ok" = "t" ] && echo "ok 4 - no row of the month is left in the default partition; the chain verifies" \
	|| echo "not ok 4 - rows of the month left in the default partition: $left; chain verifies: $ok"
