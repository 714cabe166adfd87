#!/usr/bin/env bash
# Run the addon's tests with Odoo's own test runner instead of pytest: a fresh database, the
# addon installed with --test-enable (at_install tests run during the install, post_install
# ones after it), HTTP and browser tests included; exits 1 when a test fails or errors.
# The first argument, if any, is Odoo's --test-tags (default: every test of the addon), e.g.
#   ./tools/odoo_test.sh /cliniko_crm_migration:TestBadKey,/cliniko_crm_migration:TestMigrationScreens
# Odoo's runner only runs Odoo test cases (odoo.tests.BaseCase and its subclasses): the pure
# pytest functions and plain unittest cases run under pytest (tools/test.sh; the pure ones also
# under plain pytest with tools/pure_pytest.py).
# tools/test.sh (pytest-odoo) stays the command CI runs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

TAGS=${1:-/cliniko_crm_migration}

prepare_test_run cliniko_odoo_test

# HttpCase builds its URLs from --http-port, so the server needs a real free port (not 0).
PORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
LOG="$LOCAL/odoo-test.log"
say "installing cliniko_crm_migration into $DB and running --test-tags $TAGS (log: .local/odoo-test.log)"
set +e
odoo -d "$DB" -i cliniko_crm_migration --test-enable --test-tags "$TAGS" --stop-after-init \
    --data-dir="$DATA_DIR" --http-interface=127.0.0.1 --http-port="$PORT" --log-level=test \
    >"$LOG" 2>&1
STATUS=$?
set -e
grep -E 'odoo\.tests\.(stats|result)|^(FAIL|ERROR):| (ERROR|CRITICAL) ' "$LOG" >&2 || true
# Odoo exits 0 when no test matched the tags: a mistyped tag must not look like a pass.
RAN=$(sed -n 's/.*odoo\.tests\.result: .* of \([0-9][0-9]*\) tests.*/\1/p' "$LOG" | tail -n 1)
[ "$STATUS" != 0 ] || [ "${RAN:-0}" -gt 0 ] || die "no test matched --test-tags $TAGS (log: .local/odoo-test.log)"
[ "$STATUS" = 0 ] || die "Odoo's test run failed (exit $STATUS, log: .local/odoo-test.log)"
say "Odoo's test run passed"
