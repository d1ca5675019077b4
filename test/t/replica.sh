#!/usr/bin/env bash
# The BI read replica (doc/scaling.md): two throwaway clusters of its own, a
# primary with wal_level = logical and a replica that subscribes to the
# publication made by cobranca.create_bi_publication().  They talk over Unix
# sockets in a private directory, so no TCP port is taken.  Every wait is a
# bounded poll.
#
#  - after the initial copy every replicated table is identical on both
#    sides, and the KPI and report views give the same figures, to a
#    superuser and to a supervisor whose assignment came by replication
#  - the replica holds no key material and needed no master key; its own
#    triggers did not fire on replicated rows (no audit rows of its own)
#  - a payment on the primary reaches the replica: the invoice is paid there,
#    the live KPIs move by its amount, and so does the stored snapshot once
#    the primary's cycle refreshed it
#  - the background worker of the replica runs no cycle and run_jobs()
#    refuses there; once the subscription is dropped it is a replica no more
# The replica connects as a REPLICATION BYPASSRLS login that
# create_bi_publication() granted SELECT on the published columns only.
set -uo pipefail
. "${COBRANCA_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/tools/env.sh"

echo "1..22"
n=0 failed=0
check() {	# check "description" command...: one TAP line
	local what=$1; shift

	n=$((n + 1))
	if "$@"; then echo "ok $n - $what"; else echo "not ok $n - $what"; failed=1; fi
}

bindir=$("$PG_CONFIG" --bindir)
libdir=$("$PG_CONFIG" --pkglibdir)
tmp=$(mktemp -d /tmp/cobranca_replica.XXXXXX)
as_pg() {	# initdb and the server refuse to run as root
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" -eq 0 ] && chown postgres "$tmp"

export PGHOST=$tmp PGUSER=postgres
unset PGPASSWORD PGSERVICE PGDATABASE PGPORT
db=cobranca_bi
P="port=5432 dbname=$db"	# the primary
R="port=5433 dbname=$db"	# the replica

cleanup() {
	for d in "$tmp/replica" "$tmp/primary"; do
		[ -f "$d/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

q() { local c=$1; shift; psql -XAtq -v ON_ERROR_STOP=1 -d "$c" "$@"; }
# poll SECONDS CONNINFO SQL: until SQL returns true; false after SECONDS
poll() {
	local until=$((SECONDS + $1))
	while [ "$SECONDS" -lt "$until" ]; do
		[ "$(q "$2" -c "$3" 2>/dev/null)" = t ] && return 0
		sleep 0.3
	done
	return 1
}
same() {	# same SQL [ROLE]: SQL gives the same output on both sides
	local a b
	a=$(q "$P" ${2:+-c "SET ROLE $2"} -c "$1" 2>&1)
	b=$(q "$R" ${2:+-c "SET ROLE $2"} -c "$1" 2>&1)
	if [ "$a" = "$b" ] && [ -n "$a" ]; then return 0; fi
	echo "# primary: $(echo "$a" | head -5)"; echo "# replica: $(echo "$b" | head -5)"
	return 1
}
show_logs() {
	for s in primary replica; do
		echo "# --- $s log (tail)"; tail -n 25 "$tmp/$s.log" | sed 's/^/# /'
	done
}
start_cluster() {	# start_cluster NAME PORT [extra configuration line]...
	local name=$1 d=$tmp/$1 port=$2; shift 2
	as_pg "$bindir/initdb" -D "$d" -U postgres --auth=trust --no-sync -E UTF8 --locale=C >/dev/null || return 1
	{
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$tmp'"
		echo "port = $port"
		echo "fsync = off"
		echo "extension_destdir = '$STAGE'"
		echo "dynamic_library_path = '$STAGE$libdir:\$libdir'"
		printf '%s\n' "$@"
	} >>"$d/postgresql.conf"
	as_pg "$bindir/pg_ctl" -D "$d" -l "$tmp/$name.log" -w -t 60 start >/dev/null
}

# ---- the primary, with sample data and one collection cycle
( umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$tmp/master.key"; echo >> "$tmp/master.key" )
[ "$(id -u)" -eq 0 ] && chown postgres "$tmp/master.key"
start_cluster primary 5432 "wal_level = logical" "max_wal_senders = 5" "max_replication_slots = 5" \
	"cobranca.master_key_file = '$tmp/master.key'" || { echo "Bail out! the primary did not start"; exit 1; }
start_cluster replica 5433 "max_logical_replication_workers = 4" "max_sync_workers_per_subscription = 2" ||
	{ echo "Bail out! the replica did not start"; show_logs; exit 1; }
for port in 5432 5433; do
	createdb -p "$port" "$db" && q "port=$port dbname=$db" -c "
	  DO \$\$ BEGIN
	    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bi_sup') THEN CREATE ROLE bi_sup LOGIN; END IF;
	  END \$\$;
	  CREATE EXTENSION cobranca;
	  GRANT cobranca_supervisor TO bi_sup;" ||
		{ echo "Bail out! CREATE EXTENSION failed on port $port"; show_logs; exit 1; }
done
q "$P" -c "SELECT cobranca.generate_sample(11, 40)" >/dev/null &&
q "$P" <<'SQL' >/dev/null || { echo "Bail out! primary fixtures failed"; show_logs; exit 1; }
-- a creditor's own configuration, next to the shipped one
INSERT INTO cobranca.channel_cost (creditor_id, channel, cost)
  SELECT min(id), 'email', 0.0250 FROM cobranca.creditor;
-- each creditor's own cadence: an e-mail step for every day from 3 before
-- to 60 after the due date, so that some contact is due whatever today is
INSERT INTO cobranca.cadence_rule (creditor_id, name, offset_days, channel)
  SELECT c.id, pg_catalog.format('bi D%s', d), d, 'email'
    FROM cobranca.creditor c, pg_catalog.generate_series(-3, 60) d;
-- a supervisor of the first portfolio
INSERT INTO cobranca.assignment (login, portfolio_id) SELECT 'bi_sup', min(id) FROM cobranca.portfolio;
SELECT count(*) FROM cobranca.run_jobs();
SQL

# ---- the publication and the subscription
q "$P" -c "CREATE ROLE bi_replicator LOGIN REPLICATION BYPASSRLS"
pubtables=$(q "$P" -c "SELECT count(*) FROM cobranca.create_bi_publication('cobranca_bi', 'bi_replicator')" 2>/dev/null)
again=$(q "$P" -c "SELECT count(*) FROM cobranca.create_bi_publication('cobranca_bi', 'bi_replicator')" 2>/dev/null)
check "create_bi_publication() publishes the reporting tables, and again (idempotent) the same set" \
	test -n "$pubtables" -a "${pubtables:-0}" -ge 20 -a "$pubtables" = "$again" -a \
	"$(q "$P" -c "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'cobranca_bi'")" = "$pubtables"
check "audit trail, key ring and job history stay on the primary; payer goes without its encrypted document, which the replica's login may not read" \
	test "$(q "$P" -c "SELECT NOT EXISTS (SELECT 1 FROM pg_publication_tables WHERE pubname = 'cobranca_bi'
	          AND tablename IN ('audit_log', 'audit_seal', 'audit_seal_state', 'audit_hold', 'key_ring', 'job', 'job_run'))
	        AND (SELECT NOT ('document_cipher' = ANY (attnames) OR 'document_digest' = ANY (attnames))
	               AND 'document' = ANY (attnames)
	               FROM pg_publication_tables WHERE pubname = 'cobranca_bi' AND tablename = 'payer')
	        AND has_column_privilege('bi_replicator', 'cobranca.payer', 'document', 'SELECT')
	        AND NOT has_column_privilege('bi_replicator', 'cobranca.payer', 'document_cipher', 'SELECT')
	        AND NOT has_table_privilege('bi_replicator', 'cobranca.audit_log', 'SELECT')")" = t

removed=$(q "$R" -c "SELECT cobranca.prepare_bi_replica()" 2>&1)
check "prepare_bi_replica() empties the shipped rows of the replicated tables on the new replica" \
	test "${removed:-0}" -gt 0 2>/dev/null
q "$R" -c "CREATE SUBSCRIPTION cobranca_bi CONNECTION 'host=$tmp port=5432 dbname=$db user=bi_replicator' PUBLICATION cobranca_bi" 2>/dev/null ||
	{ echo "Bail out! CREATE SUBSCRIPTION failed"; show_logs; exit 1; }
check "the initial copy of every table finishes (all subscribed tables ready)" \
	poll 60 "$R" "SELECT count(*) = $pubtables AND bool_and(srsubstate = 'r') FROM pg_subscription_rel"
check "the replica knows it is one; the primary knows it is not" \
	test "$(q "$R" -c "SELECT cobranca.is_bi_replica()")$(q "$P" -c "SELECT cobranca.is_bi_replica()")" = tf

# every replicated table, row by row (count and digest of the rows' text)
tables_sql="SELECT pg_catalog.format('SELECT %L, count(*), md5(COALESCE(string_agg(x::text, '','' ORDER BY x::text), '''')) FROM (SELECT %s FROM cobranca.%I) x',
              t.table_name, COALESCE((SELECT string_agg(quote_ident(c), ',') FROM unnest(t.columns) c), '*'), t.table_name)
            FROM cobranca.bi_replica_tables() t ORDER BY 1 \\gexec"
tables_same() {
	local a b
	a=$(echo "$tables_sql" | q "$P" 2>&1); b=$(echo "$tables_sql" | q "$R" 2>&1)
	[ "$a" = "$b" ] && [ "$(echo "$a" | wc -l)" -eq "$pubtables" ] && return 0
	diff <(echo "$a") <(echo "$b") | head -10 | sed 's/^/# /'
	return 1
}
check "every replicated table holds the same rows on both sides (creditor's own config rows included)" tables_same
check "the sample really is there (invoices, payments, claims, contacts, KPI snapshots)" \
	test "$(q "$R" -c "SELECT (SELECT count(*) FROM cobranca.invoice) > 100 AND (SELECT count(*) FROM cobranca.payment) > 100
	        AND (SELECT count(*) FROM cobranca.claim) > 100 AND (SELECT count(*) FROM cobranca.contact) > 0
	        AND (SELECT count(*) FROM cobranca.kpi_snapshot) > 0")" = t

kpi_live="SELECT string_agg((to_jsonb(k) - 'computed_at')::text, E'\n' ORDER BY k.portfolio_id)
            FROM cobranca.kpi_portfolio_at(current_date, 30) k"
check "kpi_portfolio gives the same figures" same "SELECT string_agg(k::text, E'\n' ORDER BY k.portfolio_id) FROM cobranca.kpi_portfolio k"
check "kpi_portfolio_at(today), computed live on each side, gives the same figures" same "$kpi_live"
check "claims_ratio_report gives the same figures" \
	same "SELECT count(*) || ' ' || md5(string_agg(r::text, ',' ORDER BY r::text)) FROM cobranca.claims_ratio_report r"
check "credit and cancellation_eligible give the same rows" \
	same "SELECT (SELECT count(*) || md5(COALESCE(string_agg(c::text, ',' ORDER BY c::text), '')) FROM cobranca.credit c)
	          || ' ' || (SELECT count(*) || md5(COALESCE(string_agg(e::text, ',' ORDER BY e::text), '')) FROM cobranca.cancellation_eligible e)"
check "a supervisor sees the same in kpi_portfolio, claims_ratio_report and worklist on both sides" \
	same "SELECT (SELECT string_agg(k::text, ',' ORDER BY k.portfolio_id) FROM cobranca.kpi_portfolio k)
	          || ' ' || (SELECT count(DISTINCT portfolio_id) || ':' || count(*) FROM cobranca.claims_ratio_report)
	          || ' ' || (SELECT count(*) FROM cobranca.worklist)" bi_sup
check "on the replica that supervisor sees only its portfolio (1 of several)" \
	test "$(q "$R" -c "SET ROLE bi_sup" -c "SELECT (SELECT count(*) FROM cobranca.kpi_portfolio) = 1
	        AND (SELECT count(DISTINCT portfolio_id) FROM cobranca.claims_ratio_report) <= 1")$(
	        q "$R" -c "SELECT (SELECT count(*) FROM cobranca.kpi_portfolio) > 1")" = tt
check "the replica holds no key material: no key ring, no encrypted or digested document, no master key file made" \
	test "$(q "$R" -c "SELECT (SELECT count(*) FROM cobranca.key_ring) = 0
	        AND NOT EXISTS (SELECT 1 FROM cobranca.payer WHERE document_cipher IS NOT NULL OR document_digest IS NOT NULL)")$(
	        q "$P" -c "SELECT EXISTS (SELECT 1 FROM cobranca.payer WHERE document_cipher IS NOT NULL)")" = tt -a \
	! -e "$tmp/replica/cobranca_master.key"

# ---- a payment on the primary
inv=$(q "$P" -c "SELECT i.id FROM cobranca.invoice i
                  WHERE i.status = 'open' AND i.due_on < current_date - 5 AND i.balance > 0
                    AND i.issued_on <= current_date
                  ORDER BY i.balance DESC, i.id LIMIT 1")
before=$(q "$R" -c "SELECT k.open_balance FROM cobranca.kpi_portfolio_at(current_date, 30) k
                     JOIN cobranca.invoice i ON i.portfolio_id = k.portfolio_id WHERE i.id = ${inv:-0}")
amount=$(q "$P" -c "SELECT balance FROM cobranca.invoice WHERE id = ${inv:-0}")
q "$P" -c "INSERT INTO cobranca.payment (invoice_id, external_id, amount, method, paid_at)
           VALUES (${inv:-0}, 'bi-test-1', ${amount:-0}, 'pix', now())" >/dev/null
check "the payment reaches the replica: the invoice is paid there, with the primary's bookkeeping" \
	poll 30 "$R" "SELECT status = 'paid' AND balance = 0 AND paid_total >= ${amount:-0} FROM cobranca.invoice WHERE id = ${inv:-0}"
after=$(q "$R" -c "SELECT k.open_balance FROM cobranca.kpi_portfolio_at(current_date, 30) k
                    JOIN cobranca.invoice i ON i.portfolio_id = k.portfolio_id WHERE i.id = ${inv:-0}")
check "the live KPI on the replica moves by the payment (open balance $before - $amount = $after)" \
	test -n "$before" -a "$(q "$R" -c "SELECT ${before:-0} - ${amount:-0} = ${after:-1}")" = t
check "and equals the primary's" same "$kpi_live"
snap_p=$(q "$P" -c "SET cobranca.kpi_refresh_interval = 0" -c "SELECT count(*) FROM cobranca.run_jobs()" \
	-c "SELECT k.open_balance FROM cobranca.kpi_portfolio k JOIN cobranca.invoice i ON i.portfolio_id = k.portfolio_id
	     WHERE i.id = ${inv:-0}" | tail -1)
check "the primary's next cycle refreshes the snapshot, and kpi_portfolio on the replica shows it" \
	poll 30 "$R" "SELECT k.open_balance = ${snap_p:-0} AND k.open_balance = ${after:-0}
	              FROM cobranca.kpi_portfolio k JOIN cobranca.invoice i ON i.portfolio_id = k.portfolio_id
	              WHERE i.id = ${inv:-0}"
check "no trigger of the replica fired on replicated rows (its audit log is empty), and no apply error" \
	test "$(q "$R" -c "SELECT (SELECT count(*) FROM cobranca.audit_log) = 0
	        AND (SELECT apply_error_count + sync_error_count FROM pg_stat_subscription_stats
	             WHERE subname = 'cobranca_bi') = 0")" = t

# ---- no jobs on the replica
out=$(q "$R" -c "SELECT * FROM cobranca.run_jobs()" 2>&1)
check "run_jobs() refuses on the replica with a clear message" \
	bash -c '[[ $1 == *"cobranca.run_jobs() does not run on a BI replica"* ]]' _ "$out"
as_pg "$bindir/pg_ctl" -D "$tmp/replica" -w -t 60 stop >/dev/null
{ echo "shared_preload_libraries = 'cobranca'"; echo "cobranca.database = '$db'"; echo "cobranca.naptime = 1"; } >>"$tmp/replica/postgresql.conf"
as_pg "$bindir/pg_ctl" -D "$tmp/replica" -l "$tmp/replica.log" -w -t 60 start >/dev/null
if poll 30 "$R" "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'cobranca worker')"; then
	until=$((SECONDS + 20))
	while [ "$SECONDS" -lt "$until" ] && ! grep -q 'is a BI replica' "$tmp/replica.log"; do sleep 0.3; done
	sleep 3	# three more of its 1-second naps
fi
check "the replica's background worker runs no cycle there, and says why in the server log" \
	test "$(q "$R" -c "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'cobranca worker')
	        AND NOT EXISTS (SELECT 1 FROM cobranca.job_run)")" = t -a \
	"$(grep -c "database \"$db\" is a BI replica" "$tmp/replica.log")" -eq 1

q "$R" -c "DROP SUBSCRIPTION cobranca_bi" >/dev/null 2>&1
check "without its subscription the database is no replica any more" \
	test "$(q "$R" -c "SELECT cobranca.is_bi_replica()")" = f

[ "$n" -eq 22 ] || echo "# planned 22, ran $n"
[ "$failed" -eq 0 ] || { show_logs; q "$R" -c "SELECT (SELECT count(*) FROM cobranca.invoice), (SELECT count(*) FROM cobranca.payment), (SELECT count(*) FROM cobranca.claim), (SELECT count(*) FROM cobranca.contact), (SELECT count(*) FROM cobranca.kpi_snapshot)"; }
[ "$failed" -eq 0 ]
