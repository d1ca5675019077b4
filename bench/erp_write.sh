#!/usr/bin/env bash
# Figure 1: the ERP write mix (insert an invoice, pay part of it, record a
# contact's delivery) with pgbench, on the same tables three ways, run in
# turn A B C in every round:
#   A  the extension: tenant, bookkeeping and audit triggers on
#   B  no triggers (the ERP sends creditor_id itself; nothing is kept)
#   C  no extension triggers, a PL/pgSQL jsonb audit trigger instead
# Prints the median throughput of each, the ratios A/B and C/B, p95 latency,
# and the audit seal lag seen while A runs with a sealer every second.
#
# Usage: bash bench/erp_write.sh [--clients 8] [--seconds 60] [--rounds 3] [--payers 5000]
set -euo pipefail
. "$(dirname "$0")/../tools/env.sh"
cd "$COBRANCA_ROOT"

CLIENTS=8 SECONDS_EACH=60 ROUNDS=3 PAYERS=5000
args=("$@")
while [ $# -gt 0 ]; do
	case "$1" in
		--clients) CLIENTS=$2; shift 2 ;;
		--seconds) SECONDS_EACH=$2; shift 2 ;;
		--rounds) ROUNDS=$2; shift 2 ;;
		--payers) PAYERS=$2; shift 2 ;;
		--quick) SECONDS_EACH=10 ROUNDS=3 PAYERS=1000; shift ;;
		*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done
export CLIENTS SECONDS_EACH ROUNDS PAYERS

if [ "${COBRANCA_IN_CLUSTER:-}" != 1 ]; then
	cobranca_packages
	cobranca_stage
	COBRANCA_IN_CLUSTER=1 cobranca_cluster -o shared_buffers=1GB -o max_wal_size=4GB \
		-o checkpoint_timeout=30min bash "$0" "${args[@]}"
	exit $?
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for v in ext plain plpgsql; do
	createdb "erp_$v"
	psql -qX -v ON_ERROR_STOP=1 -v variant=$v -v payers="$PAYERS" -d "erp_$v" -f bench/erp/setup.sql >/dev/null
done
range() { psql -XAt -d erp_ext -c "SELECT min(id) || ' ' || max(id) FROM cobranca.$1"; }
read -r minpayer maxpayer <<<"$(range payer)"
read -r mincontact maxcontact <<<"$(range contact)"
vars=(-D minpayer="$minpayer" -D maxpayer="$maxpayer" -D mincontact="$mincontact" -D maxcontact="$maxcontact")

# one pgbench run: prints "tps p95_ms"
run() {
	local db=$1 script=$2 tag=$3
	( cd "$out" && pgbench -n -c "$CLIENTS" -j 2 -T "$SECONDS_EACH" -l --log-prefix="$tag" \
		"${vars[@]}" -f "$COBRANCA_ROOT/bench/erp/$script" "$db" >"$tag.txt" 2>&1 ) || {
		cat "$out/$tag.txt" >&2; return 1; }
	local tps p95
	tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$out/$tag.txt" | head -1)
	# per-transaction logs: the 3rd field is the latency in microseconds
	p95=$(cat "$out/$tag".* | awk '{print $3}' | sort -n |
		awk '{a[NR]=$1} END {i=int(NR*0.95); if (i<1) i=1; printf "%.2f", a[i]/1000}')
	rm -f "$out/$tag".*
	echo "$tps $p95"
}

# sealer while A runs: seals every second and records the oldest unsealed age
sealer() {
	local until=$(( $(date +%s) + SECONDS_EACH ))
	while [ "$(date +%s)" -lt "$until" ]; do
		psql -XAtq -d erp_ext -c "SELECT cobranca.audit_seal()" >/dev/null 2>&1 || true
		psql -XAtq -d erp_ext -c "SELECT COALESCE(EXTRACT(epoch FROM clock_timestamp() - min(l.logged_at)), 0)
		                            FROM cobranca.audit_log l
		                           WHERE NOT EXISTS (SELECT 1 FROM cobranca.audit_seal s WHERE s.audit_id = l.id)" \
			2>/dev/null >>"$out/lag" || true
		sleep 1
	done
}
has_audit=$(psql -XAt -d erp_ext -c "SELECT to_regproc('cobranca.audit_seal') IS NOT NULL")

echo "ERP write mix: $CLIENTS clients, ${SECONDS_EACH}s per run, $ROUNDS rounds, $PAYERS payers; $(nproc) cores"
printf '%-6s %12s %12s %12s %10s %10s %10s\n' round ext_tps plain_tps plpgsql_tps ext_p95 plain_p95 plpg_p95
for r in $(seq 1 "$ROUNDS"); do
	[ "$has_audit" = t ] && { sealer & spid=$!; }
	read -r a ap <<<"$(run erp_ext ext.pgbench "a$r")"
	[ "$has_audit" = t ] && wait "$spid"
	read -r b bp <<<"$(run erp_plain plain.pgbench "b$r")"
	read -r c cp <<<"$(run erp_plpgsql plain.pgbench "c$r")"
	printf '%-6s %12.0f %12.0f %12.0f %10s %10s %10s\n' "$r" "$a" "$b" "$c" "$ap" "$bp" "$cp"
	echo "$a $b $c $ap $bp $cp" >>"$out/rounds"
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
col() { awk -v c="$1" '{print $c}' "$out/rounds" | median; }
ra=$(awk '{print $1/$2}' "$out/rounds" | median)
rc=$(awk '{print $3/$2}' "$out/rounds" | median)
lag=$( [ -s "$out/lag" ] && sort -n "$out/lag" | tail -1 || echo n/a)
audited=$(psql -XAt -d erp_ext -c "SELECT count(*) FROM cobranca.audit_log" 2>/dev/null || echo 0)
echo
echo "median tps: ext $(col 1), plain $(col 2), plpgsql audit $(col 3)"
echo "median p95 latency (ms): ext $(col 4), plain $(col 5), plpgsql audit $(col 6)"
echo "ratio ext/plain (median of rounds): $ra   target >= 0.85"
echo "ratio plpgsql-audit/plain (median of rounds): $rc"
echo "audit rows written by ext: $audited; largest seal lag seen while writing: ${lag}s"
printf '| ERP write mix (tps, %s clients) | %.0f | %.0f | %.3f | >= 0.85 | %s |\n' "$CLIENTS" "$(col 2)" "$(col 1)" "$ra" \
	"$(awk -v r="$ra" 'BEGIN {print (r >= 0.85) ? "pass" : "fail"}')" >"${BENCH_ROW_FILE:-/dev/null}"
