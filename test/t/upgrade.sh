#!/usr/bin/env bash
# ALTER EXTENSION cobranca UPDATE from every kept release (releases/):
#  - on a bare database, the upgraded extension is object for object what a
#    fresh CREATE EXTENSION of the current version builds (test/t/lib/describe.sql);
#  - on a database with a sample portfolio, every row survives unchanged, the
#    audit chain still verifies, and the jobs and the ERP can go on.
set -uo pipefail
cd "$(dirname "$0")/../.."
here=$PWD
releases=$(ls releases/cobranca--*.sql 2>/dev/null | grep -v -- "--.*--" | sed 's|.*/cobranca--\(.*\)\.sql|\1|' | sort -V)
current=$(sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" cobranca.control)
fresh=cobranca_upg_fresh_$$
tmp=$(mktemp -d)
dbs=("$fresh")
trap 'for d in "${dbs[@]}"; do dropdb --if-exists "$d"; done; rm -rf "$tmp"' EXIT
q() { psql -XAtq -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }

n=$(wc -w <<<"$releases")
echo "1..$((1 + 7 * n))"
t=0
ok() {	# ok CONDITION-EXIT-STATUS DESCRIPTION
	t=$((t + 1))
	if [ "$1" -eq 0 ]; then echo "ok $t - $2"; else echo "not ok $t - $2"; fi
}

createdb "$fresh" && q "$fresh" "CREATE EXTENSION cobranca" &&
	psql -X -q -d "$fresh" -f test/t/lib/describe.sql >"$tmp/fresh.txt"
[ -s "$tmp/fresh.txt" ]; ok $? "fresh $current install described ($(cat "$tmp/fresh.txt" 2>/dev/null | wc -l) lines)"

for from in $releases; do
	bare=cobranca_upg_bare_$$_${from//./_}
	full=cobranca_upg_data_$$_${from//./_}
	dbs+=("$bare" "$full")

	# 1. bare database: same catalog as a fresh install
	createdb "$bare" && q "$bare" "CREATE EXTENSION cobranca VERSION '$from'" &&
		q "$bare" "ALTER EXTENSION cobranca UPDATE" &&
		[ "$(q "$bare" "SELECT extversion FROM pg_extension WHERE extname = 'cobranca'")" = "$current" ]
	ok $? "$from: ALTER EXTENSION cobranca UPDATE reaches $current"
	psql -X -q -d "$bare" -f test/t/lib/describe.sql >"$tmp/bare.txt"
	if [ -s "$tmp/bare.txt" ] && diff -u "$tmp/fresh.txt" "$tmp/bare.txt" >"$tmp/diff.txt"; then
		ok 0 "$from: upgraded objects are exactly those of a fresh $current install"
	else
		ok 1 "$from: upgraded objects are exactly those of a fresh $current install"
		echo "# --- fresh $current   +++ upgraded from $from" >&2
		head -200 "$tmp/diff.txt" | sed 's/^/# /' >&2
	fi

	# 2. database with data: nothing lost, everything still works
	createdb "$full" && q "$full" "CREATE EXTENSION cobranca VERSION '$from'" &&
		q "$full" "SELECT count(*) FROM cobranca.generate_sample(11, 150, 6)" >/dev/null &&
		q "$full" "SELECT cobranca.run_jobs()" >/dev/null
	ok $? "$from: sample portfolio loaded and jobs run"

	# every table, kept outside the extension, with its columns at $from
	# (so columns added by the upgrade do not count)
	q "$full" "CREATE TABLE public.upg_fp AS
	           SELECT c.oid::regclass::text AS tbl,
	                  (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a
	                    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS cols,
	                  NULL::bigint AS n, NULL::text AS h
	             FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
	            WHERE s.nspname = 'cobranca' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
	# every row of $from, projected on those columns, must still be there
	# after the upgrade; rows the upgrade adds (a job it ships, the audit
	# row of that change) are listed but do not fail the test
	q "$full" "CREATE TABLE public.upg_before (tbl text, j text); CREATE TABLE public.upg_after (tbl text, j text);
	           CREATE FUNCTION public.upg_rows(dest text) RETURNS void LANGUAGE plpgsql AS \$f\$
	           DECLARE r record; BEGIN
	             FOR r IN SELECT * FROM public.upg_fp LOOP
	               EXECUTE format('INSERT INTO public.%I SELECT %L, (SELECT jsonb_object_agg(k, v) FROM jsonb_each(to_jsonb(x)) e(k, v)
	                                                                  WHERE k = ANY (%L::text[]))::text FROM %s x',
	                              dest, r.tbl, r.cols, r.tbl);
	             END LOOP; END \$f\$"
	q "$full" "SELECT public.upg_rows('upg_before')"
	q "$full" "ALTER EXTENSION cobranca UPDATE"
	ok $? "$from: ALTER EXTENSION cobranca UPDATE with data in place"
	q "$full" "SELECT public.upg_rows('upg_after')"
	ntab=$(q "$full" "SELECT count(*) FROM public.upg_fp")
	lost=$(q "$full" "SELECT string_agg(tbl || ':' || n, ' ' ORDER BY tbl) FROM (SELECT tbl, count(*) AS n FROM
	                    (SELECT tbl, j FROM public.upg_before EXCEPT ALL SELECT tbl, j FROM public.upg_after) d GROUP BY tbl) l")
	added=$(q "$full" "SELECT string_agg(tbl || ':' || n, ' ' ORDER BY tbl) FROM (SELECT tbl, count(*) AS n FROM
	                     (SELECT tbl, j FROM public.upg_after EXCEPT ALL SELECT tbl, j FROM public.upg_before) d GROUP BY tbl) l")
	if [ "$ntab" -gt 0 ] && [ -z "$lost" ]; then
		ok 0 "$from: every row of every table is kept ($ntab tables; added by the upgrade: ${added:-none})"
	else
		ok 1 "$from: every row of every table is kept"
		echo "# rows lost or changed, by table: $lost"
	fi

	# the audit chain written by $from still verifies after the upgrade,
	# sealed further by the new code
	v=$(q "$full" "SELECT cobranca.audit_seal() >= 0 AND (SELECT bool_and(ok) FROM cobranca.audit_verify())" 2>&1)
	[ "$v" = "t" ]; ok $? "$from: audit_verify() passes on the upgraded chain ($v)"

	# the ERP writes and the jobs run on the upgraded database
	r=$(q "$full" "WITH i AS (SELECT id, balance FROM cobranca.invoice WHERE status = 'open' AND balance > 1 ORDER BY id LIMIT 1),
	                    p AS (INSERT INTO cobranca.payment (invoice_id, external_id, paid_at, amount, method)
	                          SELECT id, 'after-upgrade', now(), 1.00, 'pix' FROM i RETURNING invoice_id)
	               SELECT (SELECT balance FROM i) - 1.00 FROM p" 2>&1) &&
		b=$(q "$full" "SELECT i.balance FROM cobranca.invoice i JOIN cobranca.payment p ON p.invoice_id = i.id WHERE p.external_id = 'after-upgrade'") &&
		[ -n "$r" ] && [ "$r" = "$b" ] && q "$full" "SELECT cobranca.run_jobs()" >/dev/null
	ok $? "$from: a payment lowers its invoice's balance ($r = $b) and run_jobs() works after the upgrade"
done
cd "$here"
