#!/usr/bin/env bash
# Contact generation benchmark: cobranca.generate_contacts (one set-based
# statement driven by the C calendar) against the very same statement driven
# by a PL/pgSQL calendar, side by side in one throwaway cluster.
#
#   bash bench/cadence.sh [--invoices N] [--payers N] [--runs N]
#
# Defaults: 30000 invoices, a third as many payers, best of 2 runs.  The
# figures for 1 M invoices: --invoices 1000000 (about 10 minutes on 2 cores).
# Each timed run is rolled back, so every run starts from the same state.
set -euo pipefail
. "$(dirname "$0")/../tools/env.sh"
cd "$COBRANCA_ROOT"

invoices=30000 payers="" runs=2
while [ $# -gt 0 ]; do
	case "$1" in
		--invoices) invoices=$2; shift 2 ;;
		--payers) payers=$2; shift 2 ;;
		--runs) runs=$2; shift 2 ;;
		*) echo "usage: bash bench/cadence.sh [--invoices N] [--payers N] [--runs N]" >&2; exit 2 ;;
	esac
done
payers=${payers:-$((invoices / 3 > 0 ? invoices / 3 : 1))}
export BENCH_INVOICES=$invoices BENCH_PAYERS=$payers BENCH_RUNS=$runs

# the generation statement as compiled into cadence.c, calendar calls renamed
prio=$(sed -n '/^#define CADENCE_PRIORITY_EXPR/{n;p;}' src/cadence.c | sed 's/^[[:space:]]*"\(.*\)"[[:space:]]*$/\1/')
catchup=$(sed -n 's/^#define CADENCE_CATCH_UP_DAYS "\([0-9]*\)".*/\1/p' src/cadence.c)
BENCH_SQL=$(sed -n '/^static const char \*const generate_sql =/,/RETURNING t.channel";/p' src/cadence.c |
	sed '1d; /^\/\*.*\*\/$/d' |
	sed 's/^"//; s/";$//; s/"$//' |
	sed "s/\" CADENCE_PRIORITY_EXPR \"/$prio/; s/\" CADENCE_CATCH_UP_DAYS \"/$catchup/g; s/\" CADENCE_CATCH_UP_DAYS\$/$catchup/" |
	sed 's/cobranca\.cadence_day(/bench.cadence_day(/; s/cobranca\.next_contact_slot(/bench.next_contact_slot(/')
export BENCH_SQL

cobranca_packages
cobranca_stage
cobranca_cluster bash bench/cadence_run.sh
