#!/usr/bin/env bash
# Runs inside the benchmark's throwaway cluster (see bench/cadence.sh).
set -euo pipefail
export PGDATABASE=cobranca_bench
createdb cobranca_bench
psql -qX -v ON_ERROR_STOP=1 -c "CREATE EXTENSION cobranca"
echo "== loading $BENCH_INVOICES invoices of $BENCH_PAYERS payers"
/usr/bin/time -f "   load: %e s" psql -qX -v ON_ERROR_STOP=1 -v invoices=$BENCH_INVOICES -v payers=$BENCH_PAYERS -f bench/cadence_load.sql
psql -qX -v ON_ERROR_STOP=1 -f bench/cadence_plpgsql.sql
psql -qX -v ON_ERROR_STOP=1 -c "ALTER DATABASE cobranca_bench SET bench.generate_sql = \$bench\$$BENCH_SQL\$bench\$"

as_of="2026-03-09 06:00-03"
timed() {	# timed LABEL SQL: best of BENCH_RUNS runs, each rolled back; prints "ms rows cpu_ms"
	local best="" rows="" out ms cpu bestcpu=""
	for _ in $(seq 1 "$BENCH_RUNS"); do
		out=$(psql -qXAt -v ON_ERROR_STOP=1 <<SQL
BEGIN;
SELECT extract(epoch FROM clock_timestamp())::numeric AS t0, $cpu_sql AS c0 \gset
$2
SELECT round((extract(epoch FROM clock_timestamp())::numeric - :t0) * 1000, 1);
SELECT $cpu_sql - :c0;
ROLLBACK;
SQL
)
		rows=$(sed -n 1p <<<"$out"); ms=$(sed -n 2p <<<"$out"); cpu=$(sed -n 3p <<<"$out")
		if [ -z "$best" ] || awk -v a="$ms" -v b="$best" "BEGIN{exit !(a<b)}"; then best=$ms; fi
		if [ -z "$bestcpu" ] || awk -v a="$cpu" -v b="$bestcpu" "BEGIN{exit !(a<b)}"; then bestcpu=$cpu; fi
	done
	echo "$best $rows $bestcpu"
}
# CPU time of the backend (user + system, 10 ms ticks): steadier than the
# wall clock on a shared machine
cpu_sql="(SELECT (split_part(s, ' ', 12)::numeric + split_part(s, ' ', 13)::numeric) * 10 FROM (SELECT split_part(pg_read_file('/proc/self/stat'), ') ', 2) AS s) x)"
row() {	# row LABEL C_SQL PLPGSQL_SQL
	local c p
	c=($(timed "$1" "$2")); p=($(timed "$1" "$3"))
	printf "%-34s %12s %12s %8s %10s %10s %10s %10s %8s\n" "$1" "${c[0]}" "${p[0]}" \
		"$(awk -v a="${p[0]}" -v b="${c[0]}" "BEGIN{printf \"%.1fx\", (b>0)?a/b:0}")" "${c[1]}" "${p[1]}" \
		"${c[2]}" "${p[2]}" "$(awk -v a="${p[2]}" -v b="${c[2]}" "BEGIN{printf \"%.1fx\", (b>0)?a/b:0}")"
}
echo "== as of $as_of, best of $BENCH_RUNS runs (ms); rows must match"
printf "%-34s %12s %12s %8s %10s %10s %10s %10s %8s\n" "what" "C" "PL/pgSQL" "ratio" "rows C" "rows PL" "cpu C" "cpu PL" "cpu ratio"
row "next_contact_slot, every payer" \
	"SELECT count(cobranca.next_contact_slot(timestamptz '$as_of', 'phone', timezone, uf, creditor_id)) FROM cobranca.payer;" \
	"SELECT count(bench.next_contact_slot(timestamptz '$as_of', 'phone', timezone, uf, creditor_id)) FROM cobranca.payer;"
row "cadence_day D-1, every invoice" \
	"SELECT count(cobranca.cadence_day(i.due_on, -1, 'sms', p.uf, i.creditor_id)) FROM cobranca.invoice i JOIN cobranca.payer p ON p.id = i.payer_id;" \
	"SELECT count(bench.cadence_day(i.due_on, -1, 'sms', p.uf, i.creditor_id)) FROM cobranca.invoice i JOIN cobranca.payer p ON p.id = i.payer_id;"
row "generate_contacts" \
	"SELECT cobranca.generate_contacts('$as_of');" \
	"SELECT bench.generate_contacts('$as_of');"
echo "== contacts of one run (C), per channel"
psql -X -v ON_ERROR_STOP=1 -c "BEGIN" -c "SELECT cobranca.generate_contacts('$as_of') AS created" \
	-c "SELECT channel, count(*) AS contacts, sum(cardinality(invoice_ids)) AS invoices FROM cobranca.contact GROUP BY 1 ORDER BY 1" -c "ROLLBACK"

fingerprint() {	# the contacts one generator makes, as one md5 (rolled back)
	psql -qXAt -v ON_ERROR_STOP=1 -c "BEGIN" -c "SELECT $1('$as_of')" \
		-c "SELECT md5(string_agg(concat_ws('/', payer_id, channel, contact_on, scheduled_at, invoice_ids, rule_id, attempt), ',' ORDER BY payer_id, channel, contact_on)) FROM cobranca.contact" \
		-c "ROLLBACK" | sed -n 2p
}
if [ "$(fingerprint cobranca.generate_contacts)" = "$(fingerprint bench.generate_contacts)" ]; then
	echo "== same contacts from both (payer, channel, day, slot, invoices, rule, attempt)"
else
	echo "== the two generators DIFFER"; exit 1
fi
