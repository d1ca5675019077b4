#!/usr/bin/env bash
# Benchmark: how long the KPI figures take on a sample portfolio of a given
# size, computed live (cobranca.kpi_portfolio_at) against read from the
# snapshot (cobranca.kpi_portfolio), and the claims-ratio report for the
# whole book and for one contract.  Best of 3 runs after a warm-up.
#
#   bash bench/kpi.sh [payers]     (default 10000, about 160 000 invoices;
#                                   60000 payers make about 1 M invoices)
set -euo pipefail
. "$(dirname "$0")/../tools/env.sh"
cd "$COBRANCA_ROOT"

if [ "${1:-}" = "--inside" ]; then	# the part that runs inside the cluster
	export PGDATABASE=cobranca_bench
	# every refresh computes (no reuse of a fresh snapshot)
	export PGOPTIONS="-c cobranca.kpi_refresh_interval=0"
	createdb cobranca_bench
	q() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
	q "CREATE EXTENSION cobranca"
	echo "== generating the sample portfolio ($BENCH_PAYERS payers)"
	start=$(date +%s)
	q "SELECT count(*) FROM cobranca.generate_sample(42, $BENCH_PAYERS)" >/dev/null
	q "VACUUM ANALYZE"
	echo "generated in $(( $(date +%s) - start )) s:" \
	     "$(q "SELECT count(*) FROM cobranca.invoice") invoices," \
	     "$(q "SELECT count(*) FROM cobranca.payment") payments," \
	     "$(q "SELECT count(*) FROM cobranca.claim") claims"

	best() {	# best of 3 after a warm-up, in ms
		psql -XAq -v ON_ERROR_STOP=1 <<EOF | sed -n "s/^Time: \([0-9.]*\) ms.*/\1/p" | sort -n | head -1
$1;
\timing on
$1;
$1;
$1;
EOF
	}
	printf "\n%-58s %10s\n" "query" "ms"
	row() { printf "%-58s %10.1f\n" "$1" "$(best "$2")"; }
	row "kpi_portfolio_at(current_date), live" \
	    "SELECT count(open_balance) FROM cobranca.kpi_portfolio_at(current_date)"
	row "refresh_kpis(now()): compute and store the snapshot" \
	    "SELECT cobranca.refresh_kpis(now())"
	row "kpi_portfolio (the snapshot)" \
	    "SELECT count(open_balance) FROM cobranca.kpi_portfolio"
	row "claims_ratio_report, whole book" \
	    "SELECT count(claims_ratio_pct) FROM cobranca.claims_ratio_report"
	row "claims_ratio_report, one contract" \
	    "SELECT count(claims_ratio_pct) FROM cobranca.claims_ratio_report WHERE contract_id = (SELECT min(id) + 77 FROM cobranca.contract)"
	exit 0
fi

export BENCH_PAYERS=${1:-${BENCH_PAYERS:-10000}}
case "$BENCH_PAYERS" in ''|*[!0-9]*) echo "payers must be a positive integer" >&2; exit 2 ;; esac

cobranca_packages
cobranca_stage
cobranca_cluster -o shared_buffers=256MB -o work_mem=32MB bash "$0" --inside
