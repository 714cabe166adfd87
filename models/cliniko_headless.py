"""The files of the headless command: a practitioners file, and the field map as a file.

Both are CSV (UTF-8, a byte-order mark allowed, a header line, commas), which an admin edits in
a spreadsheet. A file is checked whole before anything changes: every bad line is named in
one refusal (``line N: why``), and nothing of the file is applied.

**Practitioners** (``cliniko migrate --practitioners FILE``): columns ``cliniko_practitioner``
and ``odoo_user``. ``cliniko_practitioner`` is the practitioner's Cliniko id, else (when not
all digits) the e-mail of its Cliniko user, else its name as Cliniko shows it (a name or
e-mail two practitioners share is refused: use the id). ``odoo_user`` is the login of an active
internal Odoo user (map to it), or a policy: ``placeholder`` (a placeholder user) or
``unassigned``. The run first resolves its practitioners as the *Resolve practitioners* button
does, then the file's lines fill their decisions; the others keep what resolving found (an
e-mail match, an earlier run's binding) or follow the run's policy. A practitioner an earlier
run bound to a user keeps it: a line giving it another user is refused.

**Field map** (``cliniko map export|import FILE``): one row per line of the map, with the
columns of ``MAP_COLUMNS``. Import reads ``source_path`` (which line) and the editable columns
``target_kind``, ``target_model``, ``target_field`` and ``create_only``; the others say what the
line is and are ignored. A standard field goes where its importer writes it (``odoo``) or is
skipped; a custom field goes to a field of the lead or of the partner a custom field may go to
(of a compatible type), stays in the custom fields section (``keep``) or is skipped. Rows left
out of the file leave their line unchanged. A draft map is changed in place; a confirmed one
is never changed (runs record which map they followed): the changes go into a new version.
Cells that a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``) are exported with
a leading apostrophe, so a hostile custom field label from Cliniko never runs in Excel.
"""

import csv
import io

from odoo import api, models
from odoo.exceptions import UserError

from ..cliniko_api import ClinikoError
from ..migration import proposer
from .cliniko_connection import plain_error
from .cliniko_field_map import TARGET_KINDS

PRACTITIONER_COLUMNS = ("cliniko_practitioner", "odoo_user")
POLICIES = ("placeholder", "unassigned")
MAP_COLUMNS = (
    "source_path",
    "source_label",
    "source_type",
    "sample_profile",
    "required",
    "target_kind",
    "target_model",
    "target_field",
    "create_only",
    "confidence",
    "reason",
)
MAP_EDITABLE = ("source_path", "target_kind", "target_model", "target_field", "create_only")
YES, NO = ("yes", "y", "true", "1"), ("no", "n", "false", "0", "")
MAX_ERRORS = 20  # lines named in one refusal


def read_csv(data, name, columns):
    """``[(line number, {column: stripped value})]`` of a CSV file (bytes or text) whose
    header holds ``columns`` (in any order, extra columns ignored); blank lines are skipped.
    Raises UserError for a file that is not CSV text or lacks a column."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UserError("%s is not UTF-8 text (save it as CSV UTF-8)." % name) from None
    reader = csv.reader(io.StringIO(data.lstrip("\ufeff"), newline=""))
    try:
        header = next(reader, None)
        rows = []
        if header:
            header = [cell.strip().lower() for cell in header]
            missing = [column for column in columns if column not in header]
            if missing:
                raise UserError(
                    "%s: line 1 (the header) lacks the column(s) %s; it needs %s."
                    % (name, ", ".join(missing), ", ".join(columns))
                )
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue
                values = dict(zip(header, (cell.strip() for cell in cells), strict=False))
                row = {column: values.get(column, "") for column in header}
                rows.append((reader.line_num, row))
    except csv.Error as error:
        raise UserError(
            "%s: line %s is not valid CSV (%s)." % (name, reader.line_num, error)
        ) from None
    if not header:
        raise UserError("%s is empty: it needs the header %s." % (name, ",".join(columns)))
    return rows


def refuse_lines(name, errors):
    """Raise the refusal naming every bad line of ``name`` (``errors``: [(line, why)])."""
    if not errors:
        return
    shown = "; ".join("line %s: %s" % error for error in sorted(errors)[:MAX_ERRORS])
    more = len(errors) - MAX_ERRORS
    if more > 0:
        shown += "; and %s more" % more
    raise UserError("%s: nothing was changed: %s." % (name, shown))


def _cell(value):
    """A cell a spreadsheet shows as text, never runs as a formula."""
    value = "" if value is None or value is False else str(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _uncell(value):
    return value[1:] if value[:2] in ("'=", "'+", "'-", "'@") else value


class ClinikoMigrationRun(models.Model):
    _inherit = "cliniko.migration.run"

    def cliniko_apply_practitioner_file(self, data, name):
        """Resolve this draft run's practitioners, then fill their decisions from the CSV
        ``data`` (file ``name``); returns ``{cliniko_id: decision}`` for the file's lines.
        Raises UserError naming every bad line, with nothing changed by the file."""
        self.ensure_one()
        rows = read_csv(data, name, PRACTITIONER_COLUMNS)
        errors, targets = [], []
        Users = self.env["res.users"]
        for line, row in rows:
            key, target = row["cliniko_practitioner"], row["odoo_user"]
            if not key:
                errors.append((line, "no Cliniko practitioner"))
            elif not target:
                errors.append((line, "no Odoo login or policy (%s)" % ", ".join(POLICIES)))
            elif target.lower() in POLICIES:
                targets.append((line, key, target.lower(), Users))
            else:
                user = Users.search([("login", "=", target), ("share", "=", False)], limit=1)
                if not user:
                    errors.append(
                        (
                            line,
                            "%r is neither a policy (%s) nor the login of an active internal "
                            "Odoo user" % (target, ", ".join(POLICIES)),
                        )
                    )
                else:
                    targets.append((line, key, "map", user))
        self.action_resolve_practitioners()  # reads Cliniko, as the button does
        decisions = self.practitioner_decision_ids
        by_id = {decision.cliniko_id: decision for decision in decisions}
        decided = {}
        for line, key, decision_kind, user in targets:
            decision, why = self._cliniko_find_practitioner(decisions, by_id, key)
            if not decision:
                errors.append((line, why))
                continue
            if decision.id in decided:
                errors.append(
                    (line, "%s is on line %s already" % (decision.name, decided[decision.id][0]))
                )
                continue
            bound = decision.applied and decision.user_id
            if bound and (decision_kind != "map" or decision.user_id != user):
                errors.append(
                    (
                        line,
                        "%s is bound to the user %s by an earlier run; roll that run back to "
                        "change it" % (decision.name, decision.user_id.login),
                    )
                )
                continue
            decided[decision.id] = (line, decision, decision_kind, user, bound)
        refuse_lines(name, errors)
        result = {}
        for _line, decision, decision_kind, user, bound in decided.values():
            if not bound:
                decision.write(
                    {"decision": decision_kind, "user_id": user.id or False, "applied": False}
                )
            result[decision.cliniko_id] = decision_kind
        self._log(
            "Practitioner decisions from %s: %s"
            % (name, ", ".join("%s %s" % item for item in sorted(result.items())) or "none")
        )
        undecided = self.practitioner_decision_ids.filtered(lambda decision: not decision.decision)
        if undecided and not self.unmatched_practitioners:
            raise UserError(
                "%s practitioner(s) are neither in %s nor matched to an Odoo user by e-mail: %s. "
                "Add them to the file or give --unmatched-practitioners."
                % (len(undecided), name, ", ".join(undecided.mapped("name")))
            )
        return result

    @staticmethod
    def _cliniko_find_practitioner(decisions, by_id, key):
        """The decision row ``key`` names (an id, else an e-mail, else a name), or
        ``(None, why)``."""
        if key.isdigit():
            found = by_id.get(key)
            return (found, None) if found else (None, "no Cliniko practitioner has the id %s" % key)
        wanted = key.casefold()
        if "@" in key:
            found = decisions.filtered(lambda d: (d.email or "").strip().casefold() == wanted)
            what = "e-mail"
        else:
            wanted = " ".join(wanted.split())
            found = decisions.filtered(
                lambda d: " ".join((d.name or "").split()).casefold() == wanted
            )
            what = "name"
        if len(found) > 1:
            return None, "%s practitioners have the %s %r: give the id (%s)" % (
                len(found),
                what,
                key,
                ", ".join(found.mapped("cliniko_id")),
            )
        if not found:
            return None, "no Cliniko practitioner has the %s %r" % (what, key)
        return found, None


class ClinikoFieldMap(models.Model):
    _inherit = "cliniko.field.map"

    @api.model
    def cliniko_current_map(self, connection, propose=True):
        """The connection's newest map (the one being edited, else the one runs take); with
        ``propose``, a map proposed now (reading Cliniko) when it has none."""
        field_map = self.search([("connection_id", "=", connection.id)], order="id desc", limit=1)
        if not field_map and propose:
            try:
                field_map = self.cliniko_propose(connection)
            except ClinikoError as error:
                raise UserError(plain_error(error, connection.shard)) from error
        return field_map

    def cliniko_export_csv(self):
        """This map as CSV text (``MAP_COLUMNS``), one row per line."""
        self.ensure_one()
        output = io.StringIO()
        writer = csv.writer(output, lineterminator="\r\n")
        writer.writerow(MAP_COLUMNS)
        for line in self.line_ids.sorted(lambda line: (line.sequence, line.id)):
            writer.writerow(
                [
                    _cell(line.source_path),
                    _cell(line.source_label),
                    _cell(line.source_type),
                    _cell(line.sample_profile),
                    "yes" if line.required else "no",
                    line.target_kind,
                    _cell(line.target_model),
                    _cell(line.target_field),
                    "yes" if line.create_only else "no",
                    line.confidence,
                    _cell(line.reason),
                ]
            )
        return output.getvalue()

    def cliniko_import_csv(self, data, name, confirm=False):
        """Apply the reviewed CSV ``data`` (file ``name``) to this map: in place when draft,
        else to a new version; confirm it with ``confirm``. Returns a summary. Raises
        UserError naming every bad line, with nothing changed."""
        self.ensure_one()
        rows = read_csv(data, name, MAP_EDITABLE)
        lines = {line.source_path: line for line in self.line_ids}
        candidates = {
            (field["model"], field["name"]) for field in self._cliniko_candidate_fields()
        }
        errors, changes, seen = [], {}, {}
        for number, row in rows:
            try:
                values = self._cliniko_row_values(row, lines, candidates, seen, number)
            except ValueError as error:
                errors.append((number, str(error)))
                continue
            line = lines[row["source_path"]]
            diff = {key: value for key, value in values.items() if line[key] != value}
            if diff:
                changes[line.source_path] = diff
        refuse_lines(name, errors)
        target = self
        if changes and self.state == "confirmed":
            target = self.browse(self.action_new_version()["res_id"])
        target_lines = {line.source_path: line for line in target.line_ids}
        for source_path, diff in changes.items():
            target_lines[source_path].write(diff)
        if confirm and target.state != "confirmed":
            target.action_confirm()
        return {
            "map_id": target.id,
            "name": target.name,
            "state": target.state,
            "new_version_of": self.id if target != self else None,
            "rows": len(rows),
            "changed": sorted(changes),
        }

    @api.model
    def _cliniko_row_values(self, row, lines, candidates, seen, number):
        """The line's new values from one row; raises ValueError saying what is wrong."""
        source_path = row["source_path"]
        line = lines.get(source_path)
        if line is None:
            raise ValueError("unknown Cliniko field %r (not a line of this map)" % source_path)
        if source_path in seen:
            raise ValueError("%s is on line %s already" % (source_path, seen[source_path]))
        seen[source_path] = number
        kinds = dict(TARGET_KINDS)
        kind = row["target_kind"].lower()
        if kind not in kinds:
            raise ValueError("unknown target_kind %r (one of %s)" % (kind, ", ".join(kinds)))
        create_only = row["create_only"].lower()
        if create_only not in YES + NO:
            raise ValueError("create_only is yes or no, not %r" % row["create_only"])
        values = {"target_kind": kind, "create_only": create_only in YES}
        model, field = _uncell(row["target_model"]), _uncell(row["target_field"])
        if line.required and kind == "skip":
            raise ValueError("%s is always migrated; it cannot be skipped" % source_path)
        if not line.is_custom:
            if kind not in ("odoo", "skip"):
                raise ValueError(
                    "%s is a standard field: it goes where its importer writes it (odoo) or is "
                    "skipped, not %r" % (source_path, kind)
                )
            if (model or field) and (model, field) != (line.target_model, line.target_field):
                raise ValueError(
                    "%s is a standard field written to %s.%s; it cannot go to %s.%s (only a "
                    "custom field's target can change)"
                    % (source_path, line.target_model, line.target_field, model, field)
                )
            return values
        if kind != "odoo":
            return values
        if model not in proposer.CANDIDATE_MODELS or not field:
            raise ValueError(
                "unknown Odoo field %r: a custom field goes to a field of %s"
                % ("%s.%s" % (model, field), " or ".join(proposer.CANDIDATE_MODELS))
            )
        odoo_field = self.env[model]._fields.get(field)
        if odoo_field is None:
            raise ValueError("unknown Odoo field %s.%s" % (model, field))
        compatible = proposer.TYPE_COMPATIBILITY.get(line.source_type or "", ("char", "text"))
        if odoo_field.type not in compatible:
            raise ValueError(
                "type mismatch: %s is a %s custom field, %s.%s a %s field (compatible: %s)"
                % (
                    source_path,
                    line.source_type,
                    model,
                    field,
                    odoo_field.type,
                    ", ".join(compatible),
                )
            )
        if (model, field) not in candidates:
            raise ValueError(
                "%s.%s is not a field a custom field may go to (a stored text, date or number "
                "field of the lead, or a partner field kept for the clinical group)"
                % (model, field)
            )
        values.update(target_model=model, target_field=field)
        return values
