#!/usr/bin/env bash
# Run the whole test suite: the addon installed in a fresh database of a real Odoo 19 on a real
# PostgreSQL, tests run by pytest with pytest-odoo (HTTP server and browser tests included),
# talking to the Cliniko sandbox over real HTTP. Extra arguments go to pytest (e.g. -k rollback);
# arguments naming test files (tests/test_x.py[::Class]) run those instead of the whole suite.
# It leaves nothing running: the database is dropped and a private PostgreSQL is stopped.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

prepare_test_run cliniko_test

say "installing cliniko_crm_migration into a fresh database $DB"
odoo -d "$DB" -i cliniko_crm_migration --data-dir="$DATA_DIR" --stop-after-init --http-interface=127.0.0.1 \
    --log-level=warn --http-port=0 >"$LOCAL/install.log" 2>&1 ||
    { tail -n 40 "$LOCAL/install.log" >&2; die "installing the addon failed (log: .local/install.log)"; }
# The web client's bundles, built once and committed: a browser test's requests run in its own
# transaction, rolled back at its end, so without them every browser test built them again.
say "building the web client's asset bundles"
odoo shell -d "$DB" --data-dir="$DATA_DIR" --no-http --log-level=warn >"$LOCAL/assets.log" 2>&1 <<'EOF' ||
for name in ("web.assets_web", "web.assets_tests", "web.assets_frontend"):
    bundle = env["ir.qweb"]._get_asset_bundle(name)
    bundle.js()
    bundle.css()
env.cr.commit()
EOF
    { tail -n 40 "$LOCAL/assets.log" >&2; die "building the asset bundles failed (log: .local/assets.log)"; }
TARGETS=("$ADDON_DIR/tests")
ARGS=()
for arg in "$@"; do
    case "$arg" in
    tests/* | ./tests/*) ARGS+=("$ADDON_DIR/${arg#./}") ;;
    *) ARGS+=("$arg") ;;
    esac
done
for arg in "${ARGS[@]}"; do [[ "$arg" == "$ADDON_DIR/tests"* ]] && TARGETS=() && break; done

# Tests that run odoo-bin themselves (tests/test_cli*.py) need databases of their own: copies
# of the one just installed take a second each where installing again takes a minute. One copy
# per call of spare_database(cls) in the files this run runs.
RUN_FILES=()
for arg in "${TARGETS[@]}" "${ARGS[@]}"; do
    arg=${arg%%::*}
    if [ -d "$arg" ]; then
        RUN_FILES+=("$arg"/test_*.py)
    elif [[ "$arg" == "$ADDON_DIR/tests/"*.py && -f "$arg" ]]; then
        RUN_FILES+=("$arg")
    fi
done
SPARES_NEEDED=0
if [ ${#RUN_FILES[@]} -gt 0 ]; then
    SPARES_NEEDED=$(cat "${RUN_FILES[@]}" | { grep -o "spare_database(cls)" || true; } | wc -l)
fi
SPARE_DBS=()
for ((n = 1; n <= SPARES_NEEDED; n++)); do
    spare="${DB}_spare$n"
    createdb -T "$DB" "$spare" >/dev/null 2>&1 || break
    if [ -d "$DATA_DIR/filestore/$DB" ]; then
        cp -a "$DATA_DIR/filestore/$DB" "$DATA_DIR/filestore/$spare"
    fi
    SPARE_DBS+=("$spare")
done
CLINIKO_TEST_SPARE_DBS=$(IFS=,; echo "${SPARE_DBS[*]}")
export CLINIKO_TEST_SPARE_DBS

say "running the tests"
cd "$ADDON_DIR"
"$PYTHON" -m pytest -p no:cacheprovider \
    --odoo-database="$DB" --odoo-addons-path="$ADDONS_PATH" --odoo-http \
    --odoo-extra "data-dir=$DATA_DIR" --odoo-extra http-interface=127.0.0.1 --odoo-log-level=warn \
    "${TARGETS[@]}" "${ARGS[@]}"
