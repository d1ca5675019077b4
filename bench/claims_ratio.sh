#!/usr/bin/env bash
# Benchmark: the C aggregate cobranca.claims_ratio(claims, premiums) against
# the same figure in plain SQL, round(sum(claims) * 100 / sum(premiums), 2),
# side by side in one throwaway cluster, over N rows of numeric(14,2):
# whole table serial and parallel, grouped (one group per contract), and as a
# moving 12-month window per contract.  Each query runs 3 times after a
# warm-up; the best time is reported.
#
#   bash bench/claims_ratio.sh [rows]      (default 1000000; 10000000 works)
set -euo pipefail
. "$(dirname "$0")/../tools/env.sh"
cd "$COBRANCA_ROOT"

if [ "${1:-}" = "--inside" ]; then	# the part that runs inside the cluster

export PGDATABASE=cobranca_bench
createdb cobranca_bench
q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
q "CREATE EXTENSION cobranca"

echo "== loading $BENCH_ROWS rows (contract, month, claims, premiums numeric(14,2))"
q "CREATE UNLOGGED TABLE bench_rows (contract int, month int, claims numeric(14,2), premiums numeric(14,2))"
q "INSERT INTO bench_rows
   SELECT g / 24, g % 24,
          round((hashint8(g) & 65535)::numeric * 0.15 + 0.01, 2),
          round(((hashint8(g * 7) & 65535) * 0.02 + 150)::numeric, 2)
     FROM generate_series(0, $BENCH_ROWS - 1) g"
q "VACUUM ANALYZE bench_rows"
q "SELECT pg_size_pretty(pg_table_size('bench_rows'))" | sed "s/^/table size: /"

# best of 3 runs after one warm-up, in ms; the query's one column is counted
# (not just its rows), so that the planner cannot skip computing it
best() {
	local settings=$1 sql=$2
	psql -XAq -v ON_ERROR_STOP=1 <<EOF | sed -n "s/^Time: \([0-9.]*\) ms.*/\1/p" | sort -n | head -1
$settings
SELECT count(r) FROM ($sql) s(r);
\timing on
SELECT count(r) FROM ($sql) s(r);
SELECT count(r) FROM ($sql) s(r);
SELECT count(r) FROM ($sql) s(r);
EOF
}

serial="SET max_parallel_workers_per_gather = 0;"
parallel="SET max_parallel_workers_per_gather = 2; SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;"

c_all="SELECT cobranca.claims_ratio(claims, premiums) FROM bench_rows"
s_all="SELECT round(sum(claims) * 100 / NULLIF(sum(premiums), 0), 2) FROM bench_rows"
c_grp="SELECT cobranca.claims_ratio(claims, premiums) FROM bench_rows GROUP BY contract"
s_grp="SELECT round(sum(claims) * 100 / NULLIF(sum(premiums), 0), 2) FROM bench_rows GROUP BY contract"
w="(PARTITION BY contract ORDER BY month ROWS BETWEEN 11 PRECEDING AND CURRENT ROW)"
c_win="SELECT cobranca.claims_ratio(claims, premiums) OVER $w FROM bench_rows"
s_win="SELECT round(sum(claims) OVER $w * 100 / NULLIF(sum(premiums) OVER $w, 0), 2) FROM bench_rows"

echo "== same results"
q "$serial SELECT ($c_all) = ($s_all) AS whole_table_equal"
q "$parallel SELECT ($c_all) = ($s_all) AS whole_table_parallel_equal"
q "SELECT count(*) FILTER (WHERE a IS DISTINCT FROM b) AS grouped_differences
     FROM (SELECT contract, cobranca.claims_ratio(claims, premiums) FROM bench_rows GROUP BY 1) x(k, a)
     JOIN (SELECT contract, round(sum(claims) * 100 / NULLIF(sum(premiums), 0), 2) FROM bench_rows GROUP BY 1) y(k, b)
    USING (k)"
echo "plan of the parallel C aggregate:"
q "$parallel EXPLAIN (COSTS OFF) $c_all" | sed "s/^/    /"

printf "\n%-28s %12s %12s %8s\n" "query ($BENCH_ROWS rows)" "C agg ms" "sum/sum ms" "ratio"
row() {
	local label=$1 settings=$2 c=$3 s=$4 tc ts
	tc=$(best "$settings" "$c")
	ts=$(best "$settings" "$s")
	printf "%-28s %12.1f %12.1f %7.2fx\n" "$label" "$tc" "$ts" "$(awk -v a="$ts" -v b="$tc" 'BEGIN { print a / b }')"
}
row "whole table, serial"   "$serial"   "$c_all" "$s_all"
row "whole table, parallel" "$parallel" "$c_all" "$s_all"
row "per contract, serial"  "$serial"   "$c_grp" "$s_grp"
row "per contract, parallel" "$parallel" "$c_grp" "$s_grp"
row "moving 12 months"      "$serial"   "$c_win" "$s_win"
echo "(ratio = sum/sum time ÷ C aggregate time: above 1 means the C aggregate is faster)"
exit 0
fi

export BENCH_ROWS=${1:-${BENCH_ROWS:-1000000}}
case "$BENCH_ROWS" in ''|*[!0-9]*) echo "rows must be a positive integer" >&2; exit 2 ;; esac

cobranca_packages
cobranca_stage
cobranca_cluster -o max_parallel_workers_per_gather=2 -o max_worker_processes=8 \
	-o shared_buffers=256MB -o work_mem=64MB bash "$0" --inside
