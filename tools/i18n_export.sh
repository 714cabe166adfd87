#!/usr/bin/env bash
# Regenerate the translation template i18n/cliniko_crm_migration.pot from the current code: the
# addon installed into a scratch database, Odoo 19's `odoo-bin i18n export` (which writes the
# module's i18n/<module>.pot), then the database dropped. Review the diff, then commit it.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

find_odoo
install_python_deps requirements.txt
DB="cliniko_i18n_$$"
DATA_DIR="$LOCAL/i18n-data-$$"
cleanup() {
    dropdb --if-exists "$DB" >/dev/null 2>&1 || true
    rm -rf "$DATA_DIR"
    stop_postgres
}
trap cleanup EXIT
ensure_postgres

say "installing cliniko_crm_migration into a scratch database $DB"
odoo -d "$DB" -i cliniko_crm_migration --data-dir="$DATA_DIR" --stop-after-init --no-http \
    --log-level=warn >"$LOCAL/i18n.log" 2>&1 ||
    { tail -n 40 "$LOCAL/i18n.log" >&2; die "installing the addon failed (log: .local/i18n.log)"; }

say "exporting the translation template"
odoo i18n export -d "$DB" cliniko_crm_migration >>"$LOCAL/i18n.log" 2>&1 ||
    { tail -n 40 "$LOCAL/i18n.log" >&2; die "the export failed (log: .local/i18n.log)"; }
# Odoo reads every .py file under the addon, the virtualenv in .local/ included: keep only the
# addon's own references, and drop the strings that have no other.
"$PYTHON" - "$ROOT/i18n/cliniko_crm_migration.pot" <<'PY'
import sys

path = sys.argv[1]
text = open(path, encoding="utf-8").read()
kept = []
for entry in text.split("\n\n"):
    lines = entry.split("\n")
    refs = [line for line in lines if line.startswith("#: ")]
    local = [line for line in refs if "/.local/" in line]
    if refs and len(local) == len(refs):
        continue  # only the virtualenv's
    kept.append("\n".join(line for line in lines if line not in local))
open(path, "w", encoding="utf-8").write("\n\n".join(kept))
PY
# No absolute path of this machine may leak into the template (its references are addon-relative).
if grep -n "$ROOT\|$ODOO_ROOT" "$ROOT/i18n/cliniko_crm_migration.pot" >&2; then
    die "the template names paths of this machine"
fi
git -C "$ROOT" diff --stat -- i18n/
