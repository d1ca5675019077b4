#!/usr/bin/env bash
# Instructions of figure 2's statements (bench/run), counted by callgrind in
# one backend: repeatable whatever the load of the machine, where the
# wall-clock figures are not.
#
# A portfolio of N invoices (bench/load.sql, as bench/run loads it) and the
# PL/pgSQL baseline (bench/baseline/score.sql) are made in a private
# cluster; then, with the server stopped, a single-user backend runs under
# callgrind: once with warm-up statements only (catalog caches, both sides),
# then once more per measured statement after the same warm-up.  The
# difference is that statement's cost.  Measured: every open invoice scored
# set-based (cobranca.score_invoices / bench.score_invoices), refresh_scores
# into an empty invoice_score, and payment_probability(id) + priority(id)
# called once each for the first SINGLE open invoices.
#
# Usage: bash bench/score_callgrind.sh [--invoices 30000] [--single 1000]
#          [--annotate N] [--keep DIR]
#   COBRANCA_NO_STAGE=1 STAGE=DIR   use an extension already staged in DIR
set -euo pipefail
. "$(dirname "$0")/../tools/env.sh"
cd "$COBRANCA_ROOT"

INVOICES=30000 SINGLE=1000 ANNOTATE=0 KEEP=""
while [ $# -gt 0 ]; do
	case "$1" in
		--invoices) INVOICES=$2; shift 2 ;;
		--single) SINGLE=$2; shift 2 ;;
		--annotate) ANNOTATE=$2; shift 2 ;;
		--keep) KEEP=$2; shift 2 ;;
		*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done
command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 1; }

cobranca_packages
[ -n "${COBRANCA_NO_STAGE:-}" ] || cobranca_stage

AS_OF_DATE=2026-03-09
bindir=$("$PG_CONFIG" --bindir)
libdir=$("$PG_CONFIG" --pkglibdir)
tmp=$(mktemp -d /tmp/cobranca_callgrind.XXXXXX)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres "$tmp"
data=$tmp/data
key=$tmp/master.key
( umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$key"; echo >>"$key" )
[ "$(id -u)" -eq 0 ] && chown postgres "$key"
settings=(-c "extension_destdir=$STAGE" -c "dynamic_library_path=$STAGE$libdir:\$libdir"
	-c "cobranca.master_key_file=$key" -c fsync=off -c synchronous_commit=off
	-c work_mem=64MB -c jit=off -c max_parallel_workers_per_gather=0)
cleanup() {
	[ -f "$data/postmaster.pid" ] && as_pg "$bindir/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

as_pg "$bindir/initdb" -D "$data" -U postgres -A trust >/dev/null
as_pg "$bindir/pg_ctl" -D "$data" -l "$tmp/server.log" -w \
	-o "-k $tmp -c listen_addresses='' $(printf '%q ' "${settings[@]}")" start >/dev/null
export PGHOST=$tmp PGUSER=postgres
unset PGPORT PGDATABASE PGPASSWORD PGSERVICE
q() { psql -XAtq -v ON_ERROR_STOP=1 -d bench "$@"; }
createdb bench
q -c "CREATE EXTENSION cobranca"
payers=$(( INVOICES * 10 / 32 ))
q -v seed=42 -v payers="$payers" -v months=3 -v as_of="$AS_OF_DATE" -f bench/load.sql >/dev/null
q -f bench/baseline/score.sql >/dev/null
q -c "CREATE TABLE bench.ids AS SELECT array_agg(id ORDER BY id) AS ids FROM cobranca.invoice WHERE status = 'open';
      CREATE TABLE bench.one AS SELECT id FROM cobranca.invoice WHERE status = 'open' ORDER BY id LIMIT $SINGLE;" \
  -c "VACUUM ANALYZE"
nopen=$(q -c "SELECT cardinality(ids) FROM bench.ids")
ninv=$(q -c "SELECT count(*) FROM cobranca.invoice")
as_pg "$bindir/pg_ctl" -D "$data" -w stop >/dev/null

warm="SELECT count(*) FROM bench.ids, cobranca.score_invoices(ids[1:5], '$AS_OF_DATE')
SELECT count(*) FROM bench.ids, bench.score_invoices(ids[1:5], '$AS_OF_DATE')
SELECT cobranca.payment_probability(id, '$AS_OF_DATE'), cobranca.priority(id, '$AS_OF_DATE'), bench.payment_probability(id, '$AS_OF_DATE'), bench.priority(id, '$AS_OF_DATE') FROM (SELECT id FROM bench.one ORDER BY id DESC LIMIT 1) x"

# run NAME [SQL]: instructions of the backend running the warm-up and SQL
run() {
	local out=$tmp/callgrind.$1
	{ echo "$warm"; [ -z "${2:-}" ] || echo "$2"; } >"$tmp/script.sql"
	as_pg valgrind --tool=callgrind --callgrind-out-file="$out" \
		"$bindir/postgres" --single -D "$data" "${settings[@]}" bench \
		<"$tmp/script.sql" >"$tmp/single.$1.log" 2>"$tmp/valgrind.$1.log"
	if grep -q 'ERROR:' "$tmp/single.$1.log"; then
		grep -m3 'ERROR:' "$tmp/single.$1.log" >&2
		return 1
	fi
	sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$out"
}

echo "figure 2 under callgrind: $ninv invoices, $nopen open, $SINGLE single calls (instructions)"
base=$(run warm)
declare -A cost
measure() {	# NAME SQL
	local n
	n=$(run "$1" "$2")
	cost[$1]=$(( n - base ))
	printf '%-22s %15d\n' "$1" "${cost[$1]}"
	if [ "$ANNOTATE" -gt 0 ]; then
		callgrind_annotate --inclusive=yes "$tmp/callgrind.$1" >"$tmp/annotate" 2>/dev/null || true
		sed -n '/PROGRAM TOTALS/,$p' "$tmp/annotate" | grep . | sed -n "1,$((ANNOTATE + 2))p"
	fi
}
measure set_ours "SELECT count(*) FROM bench.ids, cobranca.score_invoices(ids, '$AS_OF_DATE')"
measure set_plpgsql "SELECT count(*) FROM bench.ids, bench.score_invoices(ids, '$AS_OF_DATE')"
measure refresh_scores "SELECT cobranca.refresh_scores('$AS_OF_DATE 06:00-03')"
measure single_ours "SELECT count(cobranca.payment_probability(id, '$AS_OF_DATE')) + count(cobranca.priority(id, '$AS_OF_DATE')) FROM bench.one"
measure single_plpgsql "SELECT count(bench.payment_probability(id, '$AS_OF_DATE')) + count(bench.priority(id, '$AS_OF_DATE')) FROM bench.one"
awk -v a="${cost[set_ours]}" -v b="${cost[set_plpgsql]}" -v c="${cost[single_ours]}" -v d="${cost[single_plpgsql]}" \
	-v r="${cost[refresh_scores]}" -v n="$nopen" -v s="$SINGLE" 'BEGIN {
	printf "set-based: %.0f instructions an invoice (PL/pgSQL %.0f): ratio %.2f\n", a / n, b / n, b / a
	printf "refresh_scores: %.0f instructions an invoice\n", r / n
	printf "single calls: %.0f instructions a call (PL/pgSQL %.0f): ratio %.2f\n", c / (2 * s), d / (2 * s), d / c }'
if [ -n "$KEEP" ]; then
	mkdir -p "$KEEP"
	cp "$tmp"/callgrind.* "$KEEP"/
fi
