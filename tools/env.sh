# Shared set-up for the test, demo and benchmark commands.  Sourced, not run.
#
#   cobranca_packages   install the Debian packages the build and tests need
#                       (only those missing; needs root the first time)
#   cobranca_stage      build the extension and install it into $STAGE, a
#                       private directory that throwaway clusters load it from
#                       (the server's extension_destdir), so neither tests nor
#                       the demo touch the machine's PostgreSQL installation
#   cobranca_cluster    run a command against a throwaway cluster that loads
#                       the staged build: cobranca_cluster [-o guc=value]... cmd

COBRANCA_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=${PG_MAJOR:-15}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}
STAGE=${STAGE:-$COBRANCA_ROOT/build/stage}
export PG_CONFIG STAGE COBRANCA_ROOT

cobranca_packages() {
	local pkgs="postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-$PG_MAJOR-pgtap libtap-parser-sourcehandler-pgtap-perl libssl-dev make gcc"
	local missing="" p
	for p in $pkgs; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "installing Debian packages:$missing"
		if [ "$(id -u)" -ne 0 ]; then
			echo "error: packages missing and not running as root; install them with: apt-get install$missing" >&2
			return 1
		fi
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
	fi
}

cobranca_stage() {
	# from clean: a source file removed since the last build must not linger
	# in the assembled install script or the shared library
	( cd "$COBRANCA_ROOT" &&
	  make -s PG_CONFIG="$PG_CONFIG" clean >/dev/null &&
	  make -s PG_CONFIG="$PG_CONFIG" >/dev/null &&
	  rm -rf "$STAGE" &&
	  make -s PG_CONFIG="$PG_CONFIG" install DESTDIR="$STAGE" >/dev/null )
}

# A free TCP port on loopback: clusters made with -t do not see each other's
# configuration, so two test runs on one machine must not both take 5432.
cobranca_free_port() {
	local p
	for _ in $(seq 1 200); do
		p=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null &&
		   [ ! -e "/var/run/postgresql/.s.PGSQL.$p" ]; then
			echo "$p"; return 0
		fi
	done
	echo 5432
}

cobranca_cluster() {
	local opts=()
	while [ "${1:-}" = "-o" ]; do opts+=(-o "$2"); shift 2; done
	local libdir port keyfile
	libdir=$("$PG_CONFIG" --pkglibdir)
	port=$(cobranca_free_port)
	# a master key of the cluster's own (see doc/security.md), outside its
	# data directory as in production
	keyfile="$COBRANCA_ROOT/build/keys/master-$port.key"
	mkdir -p "$(dirname "$keyfile")"
	( umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$keyfile"; echo >> "$keyfile" )
	if [ "$(id -u)" -eq 0 ] && id postgres >/dev/null 2>&1; then
		chown postgres "$keyfile"
	fi
	# -t: the cluster lives in a temporary directory and is removed afterwards
	local rc=0
	pg_virtualenv -t -v "$PG_MAJOR" -c "-p $port" \
		-o "extension_destdir=$STAGE" \
		-o "dynamic_library_path=$STAGE$libdir:\$libdir" \
		-o "cobranca.master_key_file=$keyfile" \
		"${opts[@]}" "$@" || rc=$?
	rm -f "$keyfile"
	return $rc
}
