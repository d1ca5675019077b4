#!/usr/bin/env bash
# Prints the contact generation statement compiled into src/cadence.c as plain
# SQL, with its calendar calls renamed to the PL/pgSQL ones of
# bench/baseline/cadence.sql: the baseline runs the very same rules.  Fails
# when the statement cannot be found (the figure is then marked invalid).
set -euo pipefail
src=${1:-$(dirname "$0")/../../src/cadence.c}
prio=$(sed -n '/^#define CADENCE_PRIORITY_EXPR/{n;p;}' "$src" | sed 's/^[[:space:]]*"\(.*\)"[[:space:]]*$/\1/')
catchup=$(sed -n 's/^#define CADENCE_CATCH_UP_DAYS "\([0-9]*\)".*/\1/p' "$src")
lead=$(sed -n 's/^#define CADENCE_LEAD_DAYS "\([0-9]*\)".*/\1/p' "$src")
sql=$(sed -n '/^static const char \*const generate_sql =/,/";$/p' "$src" |
	sed '1d; /^\/\*.*\*\/$/d' |
	sed 's/^"//; s/";$//; s/"$//' |
	sed "s/\" CADENCE_PRIORITY_EXPR \"/$prio/; s/\" CADENCE_CATCH_UP_DAYS \"/$catchup/g; s/\" CADENCE_CATCH_UP_DAYS\$/$catchup/; s/\" CADENCE_LEAD_DAYS\$/$lead/" |
	sed 's/cobranca\.cadence_day(/bench.cadence_day(/g; s/cobranca\.next_contact_slot(/bench.next_contact_slot(/g')
if [ -z "$prio" ] || [ -z "$catchup" ] || [ -z "$lead" ] || ! grep -q 'INSERT INTO cobranca.contact' <<<"$sql" ||
   grep -q 'CADENCE_\|cobranca\.cadence_day\|cobranca\.next_contact_slot' <<<"$sql"; then
	echo "cadence_sql.sh: could not extract the generation statement from $src" >&2
	exit 1
fi
printf '%s\n' "$sql"
