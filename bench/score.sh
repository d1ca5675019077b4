#!/usr/bin/env bash
# Scoring benchmark: payment probability, updated amount and priority of N
# open overdue invoices with the C functions (cobranca.score_invoices) against
# the very same statement and model with PL/pgSQL functions, side by side in
# one throwaway cluster.
#
#   bash bench/score.sh [--invoices N] [--runs N]
#
# Defaults: 100000 open invoices (each payer has two open and four paid in the
# last year), best of 2 runs.  The figures for 1 M: --invoices 1000000.
set -euo pipefail
. "$(dirname "$0")/../tools/env.sh"
cd "$COBRANCA_ROOT"

invoices=100000 runs=2
while [ $# -gt 0 ]; do
	case "$1" in
		--invoices) invoices=$2; shift 2 ;;
		--runs) runs=$2; shift 2 ;;
		*) echo "usage: bash bench/score.sh [--invoices N] [--runs N]" >&2; exit 2 ;;
	esac
done
export BENCH_INVOICES=$invoices BENCH_RUNS=$runs

cobranca_packages
cobranca_stage
cobranca_cluster -o shared_buffers=256MB -o work_mem=64MB -o max_wal_size=4GB bash -c '
	set -euo pipefail
	createdb cobranca_bench
	export PGDATABASE=cobranca_bench
	psql -qX -v ON_ERROR_STOP=1 -c "CREATE EXTENSION cobranca"
	psql -qX -v ON_ERROR_STOP=1 -v invoices="$BENCH_INVOICES" -v runs="$BENCH_RUNS" -f bench/score.sql'
