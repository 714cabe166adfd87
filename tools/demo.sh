#!/usr/bin/env bash
# The demo on the embedded default: a fresh database with the addon installed, the Cliniko
# sandbox serving a seeded demo clinic, the clinic migrated through the same code an admin
# uses (the headless `cliniko migrate` command), a summary, then Odoo served on
# http://127.0.0.1:8069 (login admin / password admin) until Ctrl-C.
#   CLINIKO_DEMO_DB (cliniko_demo)  CLINIKO_DEMO_PATIENTS (300)  CLINIKO_DEMO_SEED (7)
#   CLINIKO_DEMO_PORT (8069)        CLINIKO_DEMO_NO_SERVE=1 stops after the summary.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

DB=${CLINIKO_DEMO_DB:-cliniko_demo}
PATIENTS=${CLINIKO_DEMO_PATIENTS:-300}
SEED=${CLINIKO_DEMO_SEED:-7}
PORT=${CLINIKO_DEMO_PORT:-8069}
DATA_DIR="$LOCAL/demo-data"

find_odoo
install_python_deps requirements.txt

SANDBOX_PID=""
cleanup() {
    [ -n "$SANDBOX_PID" ] && kill "$SANDBOX_PID" 2>/dev/null && wait "$SANDBOX_PID" 2>/dev/null
    stop_postgres
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ensure_postgres

say "creating database $DB with cliniko_crm_migration installed"
dropdb --if-exists "$DB" >/dev/null 2>&1
rm -rf "$DATA_DIR/filestore/$DB"
odoo -d "$DB" -i cliniko_crm_migration --data-dir="$DATA_DIR" --stop-after-init --http-interface=127.0.0.1 \
    --log-level=warn >"$LOCAL/demo-install.log" 2>&1 ||
    { tail -n 40 "$LOCAL/demo-install.log" >&2; die "installing the addon failed (log: .local/demo-install.log)"; }

# The sandbox's http://127.0.0.1 base URL is refused unless this parameter allows it.
psql -q -d "$DB" -c "INSERT INTO ir_config_parameter (key, value) VALUES ('cliniko_crm_migration.allow_sandbox_url', 'True')" ||
    die "could not allow the sandbox URL"

say "starting the Cliniko sandbox: seed $SEED, $PATIENTS patients"
SANDBOX_OUT="$LOCAL/sandbox.out"
# The sandbox's rate limit is raised so the demo measures Odoo, not the limiter.
"$PYTHON" "$ROOT/tools/cliniko_sandbox.py" --host 127.0.0.1 --port 0 --seed "$SEED" \
    --patients "$PATIENTS" --rate-limit 100000 >"$SANDBOX_OUT" 2>"$LOCAL/sandbox.log" &
SANDBOX_PID=$!
for _ in $(seq 1 300); do
    grep -q '^api_key=' "$SANDBOX_OUT" 2>/dev/null && break
    kill -0 "$SANDBOX_PID" 2>/dev/null || die "the sandbox stopped, see .local/sandbox.log"
    sleep 0.2
done
BASE_URL=$(sed -n 's/^base_url=//p' "$SANDBOX_OUT")
API_KEY=$(sed -n 's/^api_key=//p' "$SANDBOX_OUT")
[ -n "$BASE_URL" ] && [ -n "$API_KEY" ] || die "the sandbox did not report its URL and key"

say "migrating the demo clinic from $BASE_URL"
START=$(date +%s.%N)
set +e
odoo cliniko migrate -d "$DB" --data-dir="$DATA_DIR" --log-level=warn \
    --api-key "$API_KEY" --base-url "$BASE_URL" --contact-email demo@example.com \
    --unmatched-practitioners placeholder --accept-proposed-map --json \
    >"$LOCAL/demo-migrate.json" 2>"$LOCAL/demo-migrate.log"
STATUS=$?
set -e
END=$(date +%s.%N)
SUMMARY=$(tail -n 1 "$LOCAL/demo-migrate.json")
"$PYTHON" - "$SUMMARY" "$START" "$END" <<'PY'
import json, sys
summary = json.loads(sys.argv[1])
seconds = float(sys.argv[3]) - float(sys.argv[2])
print("\nCliniko demo migration: run %s %s in %.1f s" % (summary["run_id"], summary["state"], seconds))
COLUMNS = ("fetched", "created", "updated", "unchanged", "skipped", "failed")
print("%-26s" % "resource" + "".join(" %9s" % column for column in COLUMNS))
for name, c in summary["resources"].items():
    print("%-26s" % name + "".join(" %9d" % c[column] for column in COLUMNS))
if summary.get("error"):
    print("error:", summary["error"])
PY
[ "$STATUS" = 0 ] || die "the migration failed (log: .local/demo-migrate.log)"

if [ -n "${CLINIKO_DEMO_NO_SERVE:-}" ]; then
    exit 0
fi
say "serving Odoo on http://127.0.0.1:$PORT  (login: admin, password: admin; Ctrl-C stops)"
say "see CRM > Pipeline (team 'Clinic (Cliniko)'), Contacts, and CRM > Configuration > Cliniko Migration"
odoo -d "$DB" --data-dir="$DATA_DIR" --db-filter="^$DB\$" --http-interface=127.0.0.1 \
    --http-port="$PORT" --log-level=warn
