# Shared set-up for the scripts in tools/ (sourced, not run):
# find Odoo 19, install this addon's Python dependencies, find or start PostgreSQL.
# Everything this creates lives under .local/ (git-ignored) or a private directory in /tmp.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOCAL="$ROOT/.local"
mkdir -p "$LOCAL"

die() { echo "error: $*" >&2; exit 1; }
say() { echo "==> $*" >&2; }

# One virtualenv for Odoo's requirements and ours: the one CLINIKO_VENV (or an active
# VIRTUAL_ENV) names, else .local/venv, created on first use. Nothing is ever installed into the
# system interpreter. PYTHON is the venv's real interpreter, so signals reach what we start.
ensure_venv() {
    VENV=${CLINIKO_VENV:-${VIRTUAL_ENV:-$LOCAL/venv}}
    if [ ! -x "$VENV/bin/python" ]; then
        local base
        base=$(command -v python3 || true)
        [ -n "$base" ] || die "python3 is missing (Python 3.11 or newer is needed)"
        say "creating the virtualenv $VENV"
        "$base" -m venv "$VENV" || die "could not create a virtualenv in $VENV (Debian: apt-get install python3-venv)"
    fi
    PYTHON="$VENV/bin/python"
}

# Odoo 19's source tree: ODOO_PATH, else one already importable in the venv, else the usual
# places a source checkout is kept (ODOO_SEARCH_PATHS, /opt/odoo19, /opt/odoo, ../odoo19).
find_odoo() {
    ensure_venv
    if [ -z "${ODOO_PATH:-}" ] && ! "$PYTHON" -c 'import odoo.release' >/dev/null 2>&1; then
        local candidate
        for candidate in ${ODOO_SEARCH_PATHS:-} /opt/odoo19 /opt/odoo "$ROOT/../odoo19" "$ROOT/../odoo"; do
            if [ -f "$candidate/odoo/release.py" ]; then
                ODOO_PATH=$(cd "$candidate" && pwd)
                break
            fi
        done
    fi
    if [ -n "${ODOO_PATH:-}" ]; then
        [ -d "$ODOO_PATH/odoo" ] || die "ODOO_PATH=$ODOO_PATH does not contain an odoo/ package."
        export PYTHONPATH="$ODOO_PATH${PYTHONPATH:+:$PYTHONPATH}"
    fi
    local major
    major=$("$PYTHON" -c 'import odoo.release as r; print(r.version_info[0])' 2>/dev/null) ||
        die "Odoo 19 is missing: no Odoo 19.0 source tree at ODOO_PATH, /opt/odoo19, /opt/odoo or
       ../odoo19. Check out Odoo 19.0 (Community) and set ODOO_PATH to it (see README.rst)."
    [ "$major" = 19 ] || die "Odoo $major found where Odoo 19 is needed."
    ODOO_ROOT=$("$PYTHON" -c 'import odoo, os; print(os.path.dirname(list(odoo.__path__)[0]))')
    if [ -f "$ODOO_ROOT/odoo-bin" ]; then
        ODOO_BIN=("$PYTHON" "$ODOO_ROOT/odoo-bin")
    else
        ODOO_BIN=("$PYTHON" -m odoo)
    fi
    # Odoo finds a module by its directory name: expose this checkout as cliniko_crm_migration,
    # through a link kept OUTSIDE the checkout (a link inside it would loop for tools that walk
    # the module's files, such as Odoo's translation export).
    local links="${CLINIKO_ADDONS_DIR:-${TMPDIR:-/tmp}/cliniko_crm_migration-addons-$(id -u)-$(echo "$ROOT" | cksum | cut -d' ' -f1)}"
    mkdir -p "$links"
    ln -sfn "$ROOT" "$links/cliniko_crm_migration"
    ADDONS_PATH="$links"
    [ -d "$ODOO_ROOT/addons" ] && ADDONS_PATH="$ADDONS_PATH,$ODOO_ROOT/addons"
    ADDON_DIR="$links/cliniko_crm_migration"
}

# Odoo's own Python requirements (pins known to work on Python 3.11) and ours, from PyPI, into
# the venv. A stamp of the requirement files skips pip when nothing changed since the last time.
install_python_deps() {
    local requirements=(-r "$ROOT/requirements-odoo19.txt") name stamp
    for name in "$@"; do requirements+=(-r "$ROOT/$name"); done
    stamp=$(cat "$ROOT/requirements-odoo19.txt" "${@/#/$ROOT/}" | cksum | cut -d' ' -f1)
    # One line per set of requirement files installed, so the test, demo and benchmark
    # scripts (each with its own set) don't make one another install again.
    grep -qx "$stamp" "$VENV/.cliniko-requirements" 2>/dev/null && return
    say "installing Odoo 19's and the addon's Python requirements into $VENV"
    "$PYTHON" -m pip install -q --disable-pip-version-check "${requirements[@]}" >"$LOCAL/pip.log" 2>&1 ||
        { tail -n 20 "$LOCAL/pip.log" >&2; die "could not install the Python requirements (log: .local/pip.log)"; }
    echo "$stamp" >>"$VENV/.cliniko-requirements"
}

# Use the PostgreSQL server the environment points at (PGHOST, PGPORT, PGUSER...) when one
# answers; otherwise start a private cluster (never as root: as the postgres user then).
PG_STARTED=""
ensure_postgres() {
    if [ -n "${PGHOST:-}${PGPORT:-}${PGUSER:-}" ] && psql -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
        say "using the PostgreSQL server at ${PGHOST:-default socket}:${PGPORT:-5432}"
        return
    fi
    local bindir
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$bindir" ] && [ -x "$bindir/initdb" ] || bindir=$(dirname "$(command -v initdb 2>/dev/null)")
    [ -x "$bindir/initdb" ] && [ -x "$bindir/pg_ctl" ] ||
        die "PostgreSQL is missing: no server answers and no initdb/pg_ctl to start one
       (install Debian's postgresql package, or set PGHOST/PGPORT/PGUSER to a running server)."
    PG_DIR="${CLINIKO_PG_DIR:-/tmp/cliniko_crm_migration-pg-$(id -u)-$(echo "$ROOT" | cksum | cut -d' ' -f1)}"
    PG_PORT="${CLINIKO_PG_PORT:-5439}"
    local as=()
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || die "running as root and there is no postgres user to run PostgreSQL"
        as=(runuser -u postgres --)
    fi
    if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
        say "creating a private PostgreSQL cluster in $PG_DIR"
        mkdir -p "$PG_DIR"
        [ ${#as[@]} -gt 0 ] && chown postgres "$PG_DIR"
        "${as[@]}" "$bindir/initdb" -D "$PG_DIR/data" -U odoo --auth=trust -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 ||
            die "initdb failed, see $PG_DIR/initdb.log"
    fi
    export PGHOST="$PG_DIR" PGPORT="$PG_PORT" PGUSER=odoo
    unset PGPASSWORD
    if ! "$bindir/pg_isready" -q -h "$PGHOST" -p "$PGPORT"; then
        say "starting PostgreSQL on socket $PG_DIR, port $PG_PORT"
        "${as[@]}" "$bindir/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
            -o "-k $PG_DIR -p $PG_PORT -c listen_addresses='' -c fsync=off -c full_page_writes=off" start >/dev/null ||
            die "PostgreSQL did not start, see $PG_DIR/server.log"
        PG_STARTED="${as[*]} $bindir/pg_ctl -D $PG_DIR/data -m fast stop"
    fi
    psql -d postgres -Atqc 'select 1' >/dev/null 2>&1 || die "PostgreSQL at $PG_DIR does not accept connections"
}

stop_postgres() {
    if [ -n "$PG_STARTED" ]; then
        say "stopping the private PostgreSQL cluster"
        $PG_STARTED >/dev/null 2>&1 || true
        PG_STARTED=""
    fi
}

odoo() { "${ODOO_BIN[@]}" --addons-path="$ADDONS_PATH" "$@"; }

# What both test runners (tools/test.sh: pytest-odoo; tools/odoo_test.sh: Odoo's own runner)
# need before installing the addon: Odoo, the test requirements, a browser (Odoo silently SKIPS
# browser tests without Chromium or websocket-client, so refuse instead), PostgreSQL, and a
# fresh database name DB (prefix $1) with its DATA_DIR, both removed when the script exits.
prepare_test_run() {
    find_odoo
    install_python_deps requirements-test.txt
    CHROME=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
    [ -n "$CHROME" ] || die "Chromium is missing (Odoo would skip the browser tests): apt-get install chromium"
    "$PYTHON" -c 'import websocket' 2>/dev/null ||
        die "the Python package websocket-client is missing (Odoo would skip the browser tests)"
    # Compiled bytecode cached in .local/pycache (outside the source trees, as
    # PYTHONDONTWRITEBYTECODE wants them kept): without it every odoo-bin process the tests
    # start compiles Odoo's and the addon's Python again, about a second each.
    export PYTHONPYCACHEPREFIX="$LOCAL/pycache"
    unset PYTHONDONTWRITEBYTECODE
    DB="$1_$$"
    DATA_DIR="$LOCAL/test-data-$$"
    trap cleanup_test_run EXIT
    ensure_postgres
}

cleanup_test_run() {
    dropdb --if-exists "$DB" >/dev/null 2>&1 || true
    # The copies tools/test.sh makes for the tests that run odoo-bin themselves.
    local spare
    for spare in ${SPARE_DBS[@]+"${SPARE_DBS[@]}"}; do
        dropdb --if-exists "$spare" >/dev/null 2>&1 || true
    done
    rm -rf "$DATA_DIR"
    stop_postgres
}
