#!/usr/bin/env bash
# Instructions per transaction of the ERP write mix (bench/erp), counted by
# callgrind in one backend: repeatable whatever the load of the machine,
# where the wall-clock figures of bench/run's figure 1 are not.
#
# The three databases of bench/erp/setup.sql are made in a private cluster;
# then, with the server stopped, each variant runs the mix as a
# single-user backend under callgrind twice, with SHORT and LONG
# transactions: (instructions(LONG) - instructions(SHORT)) / (LONG - SHORT)
# is the cost of one transaction of the mix (insert an invoice, pay part
# of it, record a contact's delivery), without start-up and cache warm-up.
#
# Usage: bash bench/erp_callgrind.sh [--short 30] [--long 130] [--payers 500]
#          [--variants "ext plain plpgsql"] [--annotate N] [--keep DIR]
#   --annotate N  print the N most expensive functions (inclusive) of the
#                 LONG run of each variant
#   --keep DIR    leave the callgrind files in DIR
# For ext it also counts what sealing the audit rows of the LONG run costs
# (cobranca.audit_seal() run after them), per transaction of the mix.
set -euo pipefail
. "$(dirname "$0")/../tools/env.sh"
cd "$COBRANCA_ROOT"

SHORT=30 LONG=130 PAYERS=500 VARIANTS="ext plain plpgsql" ANNOTATE=0 KEEP=""
while [ $# -gt 0 ]; do
	case "$1" in
		--short) SHORT=$2; shift 2 ;;
		--long) LONG=$2; shift 2 ;;
		--payers) PAYERS=$2; shift 2 ;;
		--variants) VARIANTS=$2; shift 2 ;;
		--annotate) ANNOTATE=$2; shift 2 ;;
		--keep) KEEP=$2; shift 2 ;;
		*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done
command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 1; }

cobranca_packages
[ -n "${COBRANCA_NO_STAGE:-}" ] || cobranca_stage

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
	-c "cobranca.master_key_file=$key" -c fsync=off -c synchronous_commit=off)
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
for v in $VARIANTS; do
	createdb "erp_$v"
	if grep -q "= 'contacts'" bench/erp/setup.sql; then
		# a setup.sql that expects a loaded portfolio: the sample generator's
		psql -qX -v ON_ERROR_STOP=1 -d "erp_$v" -c "CREATE EXTENSION cobranca" \
			-c "SELECT count(*) FROM cobranca.generate_sample(11, $PAYERS, 3)" >/dev/null
		psql -qX -v ON_ERROR_STOP=1 -v variant=contacts -d "erp_$v" -f bench/erp/setup.sql >/dev/null
	fi
	psql -qX -v ON_ERROR_STOP=1 -v variant="$v" -v payers="$PAYERS" -d "erp_$v" -f bench/erp/setup.sql >/dev/null
done

# the same random payers and contacts for every variant; invoice ids are
# known in advance (one backend draws them in order)
for v in $VARIANTS; do
	psql -XAt -F ' ' -d "erp_$v" -c "SELECT id, creditor_id FROM cobranca.payer ORDER BY id" >"$tmp/payers.$v"
	psql -XAt -d "erp_$v" -c "SELECT id FROM cobranca.contact ORDER BY id" >"$tmp/contacts.$v"
	psql -XAt -d "erp_$v" -c "SELECT pg_catalog.nextval('cobranca.invoice_id_seq')" >"$tmp/invoice.$v"
done
as_pg "$bindir/pg_ctl" -D "$data" -w stop >/dev/null

# script VARIANT N: the mix, one statement a line, each its own transaction
script() {
	awk -v variant="$1" -v n="$2" -v inv="$(( $(cat "$tmp/invoice.$1") + 1 ))" -v seed=42 '
		FILENAME == ARGV[1] { pid[++np] = $1; cred[np] = $2; next }
		{ cid[++nc] = $1 }
		END {
			srand(seed)
			for (t = 0; t < n; t++) {
				p = 1 + int(rand() * np); c = cid[1 + int(rand() * nc)]; i = inv + t
				if (variant == "ext") {
					printf "INSERT INTO cobranca.invoice (payer_id, kind, issued_on, due_on, amount) VALUES (%d, \047private\047, \0472026-11-01\047, \0472026-11-20\047, 120.00) RETURNING id\n", pid[p]
					printf "INSERT INTO cobranca.payment (invoice_id, amount, method, paid_at) VALUES (%d, 50.00, \047pix\047, \0472026-11-21 10:00-03\047)\n", i
				} else {
					printf "INSERT INTO cobranca.invoice (creditor_id, portfolio_id, payer_id, kind, issued_on, due_on, amount, balance) SELECT creditor_id, portfolio_id, id, \047private\047, \0472026-11-01\047, \0472026-11-20\047, 120.00, 120.00 FROM cobranca.payer WHERE id = %d RETURNING id, creditor_id\n", pid[p]
					printf "INSERT INTO cobranca.payment (creditor_id, invoice_id, amount, method, paid_at) VALUES (%d, %d, 50.00, \047pix\047, \0472026-11-21 10:00-03\047)\n", cred[p], i
				}
				printf "UPDATE cobranca.contact SET status = \047delivered\047, outcome = \047entregue\047, updated_at = now() WHERE id = %d\n", c
			}
		}' "$tmp/payers.$1" "$tmp/contacts.$1"
}

# run VARIANT N [SQL]: instructions executed by the backend (SQL, if given, runs after the mix)
run() {
	local v=$1 n=$2 out=$tmp/callgrind.$1.$2${3:+.after}
	# each run starts from the same data: a copy of the stopped cluster
	rm -rf "$tmp/run" && cp -a "$data" "$tmp/run"
	{ script "$v" "$n"; [ -z "${3:-}" ] || echo "$3"; } >"$tmp/script.sql"
	as_pg valgrind --tool=callgrind --callgrind-out-file="$out" \
		"$bindir/postgres" --single -D "$tmp/run" "${settings[@]}" "erp_$v" \
		<"$tmp/script.sql" >"$tmp/single.$v.$n.log" 2>"$tmp/valgrind.$v.$n.log"
	if grep -q 'ERROR:' "$tmp/single.$v.$n.log"; then
		grep -m3 'ERROR:' "$tmp/single.$v.$n.log" >&2
		return 1
	fi
	sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$out"
}

echo "ERP write mix under callgrind: instructions per transaction ($LONG - $SHORT transactions, $PAYERS payers)"
declare -A per
for v in $VARIANTS; do
	a=$(run "$v" "$SHORT")
	b=$(run "$v" "$LONG")
	per[$v]=$(( (b - a) / (LONG - SHORT) ))
	printf '%-8s %12d instructions/transaction\n' "$v" "${per[$v]}"
	if [ "$v" = ext ]; then
		c=$(run "$v" "$LONG" "SELECT cobranca.audit_seal()")
		seal=$(( (c - b) / LONG ))
		printf '%-8s %12d instructions/transaction (sealing its audit rows afterwards)\n' seal "$seal"
	fi
	if [ "$ANNOTATE" -gt 0 ]; then
		callgrind_annotate --inclusive=yes "$tmp/callgrind.$v.$LONG" >"$tmp/annotate" 2>/dev/null || true
		sed -n '/PROGRAM TOTALS/,$p' "$tmp/annotate" | grep . | sed -n "1,$((ANNOTATE + 2))p"
	fi
done
# throughput ratios as the wall-clock benchmark reports them: fewer
# instructions a transaction, more transactions a second
ratio() {	# ratio NAME BASE: BASE's instructions over ext's, without and with sealing
	[ -n "${per[ext]:-}" ] && [ -n "${per[$2]:-}" ] || return 0
	awk -v e="${per[ext]}" -v s="${seal:-0}" -v b="${per[$2]}" -v n="$1" \
		'BEGIN { printf "ratio %s (throughput, from instructions): %.3f; counting the seal: %.3f\n", n, b / e, b / (e + s) }'
}
ratio ext/plain plain
ratio ext/plpgsql plpgsql
if [ -n "$KEEP" ]; then
	mkdir -p "$KEEP"
	cp "$tmp"/callgrind.* "$KEEP"/
fi
