#!/usr/bin/env bash
# ERP write throughput with the audit capture trigger (C) against the same
# workload with no audit trigger and with a typical PL/pgSQL jsonb audit
# trigger (to_jsonb of OLD/NEW, changed keys only on UPDATE), side by side in
# one throwaway cluster.  The baseline table has the same columns and indexes
# as cobranca.audit_log.  Usage: bash bench/audit_overhead.sh [seconds] [clients]
# Figures vary with the machine's load: compare the ratios of one run.
set -euo pipefail
. "$(dirname "$0")/../tools/env.sh"
cd "$COBRANCA_ROOT"
secs=${1:-10}
clients=${2:-2}
cobranca_packages
cobranca_stage
export secs clients
cobranca_cluster bash -c '
set -euo pipefail
createdb bench_audit
q() { psql -XAtq -v ON_ERROR_STOP=1 -d bench_audit "$@"; }
q -c "CREATE EXTENSION cobranca" 2>/dev/null
q -c "SELECT count(*) FROM cobranca.generate_sample(5, 200, 3)" >/dev/null
q <<SQL
CREATE TABLE public.plpgsql_audit (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  logged_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  txid bigint NOT NULL DEFAULT pg_current_xact_id()::text::bigint,
  session_user_name name NOT NULL DEFAULT session_user,
  current_user_name name NOT NULL DEFAULT current_user,
  application_name text DEFAULT current_setting(\$\$application_name\$\$),
  client_addr inet DEFAULT inet_client_addr(),
  table_name name, operation text, row_id bigint, creditor_id bigint,
  old_values jsonb, new_values jsonb);
CREATE INDEX ON public.plpgsql_audit USING brin (txid);
CREATE INDEX ON public.plpgsql_audit USING brin (logged_at);
CREATE FUNCTION public.plpgsql_audit() RETURNS trigger LANGUAGE plpgsql AS \$f\$
DECLARE o jsonb; n jsonb; k text;
BEGIN
  IF TG_OP <> \$\$INSERT\$\$ THEN o := to_jsonb(OLD) - \$\$document_cipher\$\$ - \$\$document_digest\$\$; END IF;
  IF TG_OP <> \$\$DELETE\$\$ THEN n := to_jsonb(NEW) - \$\$document_cipher\$\$ - \$\$document_digest\$\$; END IF;
  IF TG_OP = \$\$UPDATE\$\$ THEN
    FOR k IN SELECT jsonb_object_keys(n) LOOP
      IF o -> k = n -> k THEN o := o - k; n := n - k; END IF;
    END LOOP;
  END IF;
  INSERT INTO public.plpgsql_audit (table_name, operation, row_id, creditor_id, old_values, new_values)
  VALUES (TG_TABLE_NAME, TG_OP, (COALESCE(n, o) ->> \$\$id\$\$)::bigint, (COALESCE(n, o) ->> \$\$creditor_id\$\$)::bigint, o, n);
  RETURN NULL;
END \$f\$;
SQL
ninv=$(q -c "SELECT max(id) FROM cobranca.invoice")
npay=$(q -c "SELECT max(id) FROM cobranca.payer")
cat > /tmp/bench_audit_$$.sql <<SQL
\set inv random(1, $ninv)
\set payer random(1, $npay)
INSERT INTO cobranca.payment (invoice_id, amount, method) SELECT id, 0.01, \$\$pix\$\$ FROM cobranca.invoice WHERE id = :inv;
UPDATE cobranca.payer SET email = \$\$p\$\$ || :inv || \$\$@exemplo.com.br\$\$ WHERE id = :payer;
SQL
mode() {
  local m=$1 t
  for t in payment invoice payer; do
    q -c "ALTER TABLE cobranca.$t DISABLE TRIGGER audit_capture; DROP TRIGGER IF EXISTS bench_plpgsql_audit ON cobranca.$t" 2>/dev/null
    case $m in
      c) q -c "ALTER TABLE cobranca.$t ENABLE TRIGGER audit_capture" ;;
      plpgsql) q -c "CREATE TRIGGER bench_plpgsql_audit AFTER INSERT OR UPDATE OR DELETE ON cobranca.$t FOR EACH ROW EXECUTE FUNCTION public.plpgsql_audit()" ;;
    esac
  done
  q -c "VACUUM ANALYZE" >/dev/null
  pgbench -n -T "$secs" -c "$clients" -f /tmp/bench_audit_$$.sql bench_audit 2>&1 | tee /tmp/bench_audit_last.log | sed -n "s/^tps = \([0-9.]*\).*/\1/p"
}
echo "workload: one ERP transaction = INSERT a payment (which updates its invoice) + UPDATE a payer; $clients clients, $secs s each"
# interleaved rounds, so that a change in the load of the machine hits every mode
none=$(mode none); c=$(mode c); pl=$(mode plpgsql)
none2=$(mode none); c2=$(mode c); pl2=$(mode plpgsql)
rows=$(q -c "SELECT count(*) FROM cobranca.audit_log")
awk -v n1="$none" -v n2="$none2" -v c1="$c" -v c2="$c2" -v p1="$pl" -v p2="$pl2" -v rows="$rows" "BEGIN {
  n = (n1 + n2) / 2; c = (c1 + c2) / 2; p = (p1 + p2) / 2;
  printf \"no audit trigger        %8.1f tps (runs %.1f, %.1f)\n\", n, n1, n2;
  printf \"C audit_capture         %8.1f tps (runs %.1f, %.1f)   ratio to no trigger %.2f\n\", c, c1, c2, c / n;
  printf \"PL/pgSQL jsonb trigger  %8.1f tps (runs %.1f, %.1f)   ratio to no trigger %.2f\n\", p, p1, p2, p / n;
  printf \"C over PL/pgSQL         %.2f x\n\", c / p;
  printf \"audit rows written by the C trigger: %d\n\", rows }"
rm -f /tmp/bench_audit_$$.sql

# the triggers alone: their own time per row (EXPLAIN ANALYZE), on 20000
# inserts and 20000 updates of claim, less sensitive to the load of the machine
trig() {
  q -c "EXPLAIN (ANALYZE, COSTS OFF) $1" | sed -n "s/^ *Trigger $2: time=\([0-9.]*\) calls=\([0-9]*\).*/\1 \2/p" |
    awk "{ printf \"%.1f\", 1000 * \$1 / \$2 }"
}
q -c "CREATE TABLE public.nums AS SELECT i FROM generate_series(1, 20000) i"
ins="INSERT INTO cobranca.claim (contract_id, external_id, occurred_on, amount, category) SELECT (SELECT min(id) FROM cobranca.contract), "
ci=$(trig "$ins \$\$bc\$\$ || i, current_date, 10, \$\$exam\$\$ FROM public.nums" audit_capture)
cu=$(trig "UPDATE cobranca.claim SET amount = amount + 1 WHERE external_id LIKE \$\$bc%\$\$" audit_capture)
q -c "ALTER TABLE cobranca.claim DISABLE TRIGGER audit_capture; CREATE TRIGGER bench_plpgsql_audit AFTER INSERT OR UPDATE OR DELETE ON cobranca.claim FOR EACH ROW EXECUTE FUNCTION public.plpgsql_audit()"
pi=$(trig "$ins \$\$bp\$\$ || i, current_date, 10, \$\$exam\$\$ FROM public.nums" bench_plpgsql_audit)
pu=$(trig "UPDATE cobranca.claim SET amount = amount + 1 WHERE external_id LIKE \$\$bp%\$\$" bench_plpgsql_audit)
echo "trigger time per row (us): INSERT  C $ci  PL/pgSQL $pi;  UPDATE  C $cu  PL/pgSQL $pu"
dropdb bench_audit
'
