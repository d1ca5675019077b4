# A cluster of a test's own, that preloads cobranca and runs its background
# worker (the suite's cluster does not), for test/t/load.sh and
# test/t/crash.sh.  Sourced, not run.  It starts without the worker; the
# test lays out its database, then oc_worker_on restarts it with the worker.
#
#   oc_setup NAME        temporary directory, initdb, TAP helpers; the
#                        cluster listens only on a Unix socket there
#   oc_start [GUC=V]...  start it (extra settings appended first)
#   oc_worker_on         restart with the worker, in $PGDATABASE
#   oc_stop [MODE]       pg_ctl stop -m MODE (fast by default)
#   q ARGS...            psql -XAtq with ON_ERROR_STOP against $PGDATABASE
#   poll SECS SQL        until SQL returns true; false after SECS
#   check "what" cmd...  one TAP line
set -uo pipefail
. "${COBRANCA_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}/tools/env.sh"

n=0 failed=0 oc_last=$SECONDS
check() {
	local what=$1; shift
	n=$((n + 1))
	if "$@"; then echo "ok $n - $what"; else echo "not ok $n - $what"; failed=1; fi
	# COBRANCA_TIMING=1: seconds spent since the previous check
	[ -n "${COBRANCA_TIMING:-}" ] && echo "# $((SECONDS - oc_last)) s"
	oc_last=$SECONDS
}
q() { psql -XAtq -v ON_ERROR_STOP=1 "$@"; }
poll() {
	local until=$((SECONDS + $1))
	while [ "$SECONDS" -lt "$until" ]; do
		[ "$(q -c "$2" 2>/dev/null)" = t ] && return 0
		sleep 0.3
	done
	return 1
}
as_pg() {	# initdb and the server refuse to run as root
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

oc_setup() {
	local name=$1 libdir
	OC_BIN=$("$PG_CONFIG" --bindir)
	libdir=$("$PG_CONFIG" --pkglibdir)
	OC_TMP=$(mktemp -d "/tmp/cobranca_$name.XXXXXX")
	[ "$(id -u)" -eq 0 ] && chown postgres "$OC_TMP"
	OC_DATA=$OC_TMP/data
	OC_LOG=$OC_TMP/server.log
	export PGHOST=$OC_TMP PGPORT=5432 PGUSER=postgres PGDATABASE=cobranca_$name
	unset PGPASSWORD PGSERVICE PGOPTIONS
	trap oc_cleanup EXIT
	as_pg "$OC_BIN/initdb" -D "$OC_DATA" -U postgres --auth=trust --no-sync -E UTF8 --locale=C >/dev/null ||
		{ echo "Bail out! initdb failed"; exit 1; }
	cat >>"$OC_DATA/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$OC_TMP'
port = 5432
max_connections = 40
shared_buffers = 32MB
fsync = off
extension_destdir = '$STAGE'
dynamic_library_path = '$STAGE$libdir:\$libdir'
cobranca.naptime = 1
deadlock_timeout = 200ms
log_lock_waits = on
log_line_prefix = '%m [%p] %b '
EOF
}

oc_start() {
	local s
	for s in "$@"; do echo "$s" >>"$OC_DATA/postgresql.conf"; done
	as_pg "$OC_BIN/pg_ctl" -D "$OC_DATA" -l "$OC_LOG" -w -t 120 start >/dev/null
}

# restart with the worker (cobranca preloaded) in the test's database, once
# its fixtures are in place
oc_worker_on() {
	oc_stop fast &&
	oc_start "shared_preload_libraries = 'cobranca'" "cobranca.database = '$PGDATABASE'"
}

oc_stop() {
	as_pg "$OC_BIN/pg_ctl" -D "$OC_DATA" -m "${1:-fast}" -w -t 120 stop >/dev/null
}

oc_cleanup() {
	[ -f "$OC_DATA/postmaster.pid" ] && as_pg "$OC_BIN/pg_ctl" -D "$OC_DATA" -m immediate -w stop >/dev/null 2>&1
	[ -n "${COBRANCA_KEEP_LOG:-}" ] && cp "$OC_LOG" "$COBRANCA_KEEP_LOG"
	rm -rf "$OC_TMP"
}

oc_show_log() {
	echo "# --- server log (tail)"
	tail -n "${1:-40}" "$OC_LOG" | sed 's/^/# /'
}

# The invariants a load or a crash must not break, one TAP line each.  The
# optional table ld.writes (tbl, op, row_id) lists the writes a client
# committed, for the audit counts.
oc_invariants() {
	check "each invoice's paid_total is the sum of its payments" \
		poll 1 "SELECT NOT EXISTS (SELECT 1 FROM cobranca.invoice i
		         WHERE i.paid_total <> coalesce((SELECT sum(p.amount) FROM cobranca.payment p WHERE p.invoice_id = i.id), 0))"
	check "balance = amount − payments (never below 0), credit = the overpayment" \
		poll 1 "SELECT NOT EXISTS (SELECT 1 FROM cobranca.invoice i
		         WHERE i.balance <> GREATEST(i.amount - i.paid_total, 0)
		            OR i.credit <> GREATEST(i.paid_total - i.amount, 0))"
	check "open_disputes counts the unanswered disputes" \
		poll 1 "SELECT NOT EXISTS (SELECT 1 FROM cobranca.invoice i
		         WHERE i.open_disputes <> (SELECT count(*) FROM cobranca.dispute d
		                                    WHERE d.invoice_id = i.id AND d.answered_on IS NULL))"
	check "status agrees with balance, disputes and agreement" \
		poll 1 "SELECT NOT EXISTS (SELECT 1 FROM cobranca.invoice i
		         WHERE i.status NOT IN ('cancelled', 'written_off')
		           AND i.status <> CASE WHEN i.balance = 0 THEN 'paid'
		                                WHEN i.open_disputes > 0 THEN 'disputed'
		                                WHEN i.agreement_id IS NOT NULL THEN 'in_agreement'
		                                ELSE 'open' END)"
	check "a paid invoice has its paid_on, an unpaid one none" \
		poll 1 "SELECT NOT EXISTS (SELECT 1 FROM cobranca.invoice i
		         WHERE i.status IN ('open', 'disputed', 'in_agreement') AND i.paid_on IS NOT NULL
		            OR i.status = 'paid' AND i.paid_on IS NULL)"
	check "no payer has two live contacts on one channel and day, nor more than max_contacts_per_day" \
		poll 1 "SELECT NOT EXISTS (SELECT 1 FROM cobranca.contact WHERE status <> 'cancelled'
		         GROUP BY payer_id, channel, contact_on HAVING count(*) > 1)
		    AND NOT EXISTS (SELECT 1 FROM cobranca.contact WHERE status <> 'cancelled'
		         GROUP BY payer_id, contact_on
		         HAVING count(*) > current_setting('cobranca.max_contacts_per_day')::int)"
	check "no invoice in two live contacts of one channel and day" \
		poll 1 "SELECT NOT EXISTS (SELECT 1 FROM cobranca.contact k, unnest(k.invoice_ids) v
		         WHERE k.status <> 'cancelled' GROUP BY v, k.channel, k.contact_on HAVING count(*) > 1)"
	check "no scheduled contact left for a paid, disputed or otherwise closed invoice" \
		poll 1 "SELECT NOT EXISTS (SELECT 1 FROM cobranca.contact k JOIN cobranca.invoice i ON i.id = ANY (k.invoice_ids)
		         WHERE k.status = 'scheduled' AND i.status <> 'open')"
	check "at most one live notice per contract, none listing a paid-up debt as running" \
		poll 1 "SELECT NOT EXISTS (SELECT 1 FROM cobranca.default_notice n
		         WHERE n.status IN ('draft', 'sent', 'confirmed', 'unreachable')
		           AND (SELECT count(*) FROM cobranca.invoice i
		                 WHERE i.id = ANY (n.invoice_ids) AND i.status IN ('open', 'disputed', 'in_agreement')) < 2)"
	check "every row of the domain tables has exactly one INSERT in the audit log" \
		poll 1 "SELECT bool_and(ok) FROM (
		         SELECT (SELECT count(*) FROM cobranca.invoice) = count(*) FILTER (WHERE table_name = 'invoice')
		            AND (SELECT count(*) FROM cobranca.payment) = count(*) FILTER (WHERE table_name = 'payment')
		            AND (SELECT count(*) FROM cobranca.dispute) = count(*) FILTER (WHERE table_name = 'dispute')
		            AND (SELECT count(*) FROM cobranca.contact) = count(*) FILTER (WHERE table_name = 'contact')
		            AND (SELECT count(*) FROM cobranca.contact_event) = count(*) FILTER (WHERE table_name = 'contact_event')
		            AND (SELECT count(*) FROM cobranca.payer) = count(*) FILTER (WHERE table_name = 'payer') AS ok
		           FROM cobranca.audit_log WHERE operation = 'INSERT'
		         UNION ALL
		         SELECT count(*) = 1 FROM cobranca.audit_log WHERE operation = 'INSERT'
		          AND table_name IN ('invoice', 'payment', 'dispute', 'contact', 'contact_event', 'payer')
		          GROUP BY table_name, row_id) x"
	check "every payment moved its invoice once in the audit log (one UPDATE of paid_total each)" \
		poll 1 "WITH a AS (SELECT row_id, count(*) AS n FROM cobranca.audit_log
		                   WHERE table_name = 'invoice' AND operation = 'UPDATE' AND new_values ? 'paid_total'
		                   GROUP BY row_id),
		             p AS (SELECT invoice_id, count(*) AS n FROM cobranca.payment GROUP BY invoice_id)
		        SELECT NOT EXISTS (SELECT 1 FROM cobranca.invoice i
		                             LEFT JOIN a ON a.row_id = i.id LEFT JOIN p ON p.invoice_id = i.id
		                            WHERE coalesce(a.n, 0) <> coalesce(p.n, 0))"
	if [ "$(q -c "SELECT to_regclass('ld.writes') IS NOT NULL")" = t ]; then
		check "every write the clients committed is in the audit log exactly once" \
			poll 1 "WITH w AS (SELECT tbl, op, row_id, count(*) AS n FROM ld.writes GROUP BY 1, 2, 3),
			             a AS (SELECT table_name, operation, row_id, count(*) AS n FROM cobranca.audit_log
			                    WHERE (table_name, operation) IN (SELECT DISTINCT tbl, op FROM ld.writes)
			                    GROUP BY 1, 2, 3)
			        SELECT NOT EXISTS (SELECT 1 FROM w LEFT JOIN a
			                             ON a.table_name = w.tbl AND a.operation = w.op AND a.row_id = w.row_id
			                            WHERE a.n IS DISTINCT FROM w.n)"
	fi
	q -c "SELECT cobranca.audit_seal()" >/dev/null
	check "after sealing, audit_verify() is ok" poll 1 "SELECT ok FROM cobranca.audit_verify()"
}
