"""The field map of a connection: which Odoo field each Cliniko field goes to.

The proposer (``migration/proposer.py``) fills a draft map from the importers' default map and
the clinic's own custom patient fields; the admin edits the lines and confirms. A run moves no
record before its map is confirmed, and a confirmed map is reused by the next runs of the
connection. ``FieldMapPlan`` is what a run does with the map: skip a field, or write a custom
field's answer to an Odoo field.
"""

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..migration import proposer
from ..migration.patients import custom_field_answer
from ..migration.values import parse_date, text

CLINICAL_GROUP = "cliniko_crm_migration.group_cliniko_clinical"

TARGET_KINDS = [
    ("odoo", "Odoo field"),
    ("new", "New field"),
    ("keep", "Keep in the Cliniko custom fields section"),
    ("skip", "Skip"),
]
SAMPLE_PATIENTS = 200  # how many patients the proposer reads to find custom fields


class ClinikoFieldMap(models.Model):
    _name = "cliniko.field.map"
    _inherit = ["cliniko.confirmed.map.mixin"]
    _description = "Cliniko Field Map"
    _order = "id desc"

    name = fields.Char(required=True)
    connection_id = fields.Many2one(
        "cliniko.connection", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="connection_id.company_id", store=True)
    line_ids = fields.One2many("cliniko.field.map.line", "map_id", string="Fields", copy=True)
    custom_line_count = fields.Integer(compute="_compute_counts")
    line_count = fields.Integer(compute="_compute_counts")

    @api.depends("line_ids.is_custom")
    def _compute_counts(self):
        for field_map in self:
            field_map.line_count = len(field_map.line_ids)
            field_map.custom_line_count = len(field_map.line_ids.filtered("is_custom"))

    # -- proposal ----------------------------------------------------------------------------
    @api.model
    def cliniko_propose(self, connection, patients=None, client=None):
        """Create a draft map for ``connection``: the default map plus a proposal for each
        custom patient field found in a sample of its patients (read from Cliniko unless
        ``patients`` is given, through ``client`` when given: a run's, which logs its waits and
        retries). Returns the map."""
        connection.ensure_one()
        if patients is None:
            patients = self._cliniko_sample_patients(connection, client)
        lines = []
        for row in proposer.default_rows():
            model, field = proposer.target_model_field(row["resource"], row["targets"][0])
            lines.append(
                {
                    "sequence": row["sequence"],
                    "resource": row["resource"],
                    "source_path": row["source_path"],
                    "source_label": row["source_label"],
                    "source_type": row["source_type"],
                    "sample_profile": self._cliniko_standard_profile(row, patients),
                    "target_kind": "odoo",
                    "target_model": model,
                    "target_field": field,
                    "default_target_model": model,
                    "default_target_field": field,
                    "value_paths": "\n".join(row["targets"]),
                    "confidence": 100,
                    "reason": "the importer's default mapping",
                    "required": row["required"],
                    "create_only": row["create_only"],
                }
            )
        candidates = self._cliniko_candidate_fields()
        custom = proposer.discover_custom_fields(patients, custom_field_answer)
        for sequence, found in enumerate(custom, start=len(lines) * 10 + 10):
            proposal = proposer.propose_custom_field(found, candidates)
            lines.append(
                {
                    "sequence": sequence,
                    "resource": "patients",
                    "source_path": "patients.%s%s" % (proposer.CUSTOM_PREFIX, found["token"]),
                    "source_label": "%s / %s" % (found["section"], found["label"])
                    if found["section"]
                    else found["label"],
                    "source_type": found["type"],
                    "sample_profile": proposal["profile"],
                    "target_kind": proposal["target_kind"],
                    "target_model": proposal["target_model"],
                    "target_field": proposal["target_field"],
                    "confidence": proposal["confidence"],
                    "reason": proposal["reason"],
                    "is_custom": True,
                }
            )
        return self.create(
            {
                "name": "%s: proposed map" % connection.name,
                "connection_id": connection.id,
                "line_ids": [(0, 0, values) for values in lines],
            }
        )

    @api.model
    def _cliniko_sample_patients(self, connection, client=None):
        """The first patients Cliniko lists (oldest first), read-only, nothing stored."""
        client = client or connection._get_client()
        params = [("q[]", "archived_at:*"), ("sort", "created_at:asc")]
        patients = []
        for page in client.iter_pages("/patients", params=params, per_page=100):
            patients.extend(page.get("patients") or [])
            if len(patients) >= SAMPLE_PATIENTS:
                break
        return patients[:SAMPLE_PATIENTS]

    @api.model
    def _cliniko_standard_profile(self, row, patients):
        if row["resource"] != "patients" or not patients:
            return False
        source = row["source_path"].split(".", 1)[1]
        answers = []
        for patient in patients:
            value = patient.get(source)
            answers.append(value if isinstance(value, str) else None)
        filled = sum(1 for patient in patients if patient.get(source) not in (None, "", [], {}))
        profile, share = proposer.value_profile(answers)
        text_profile = "%s of %s filled" % (filled, len(patients))
        if profile != "empty":
            text_profile += "; looks like %s (%d%%)" % (profile, round(share * 100))
        return text_profile

    @api.model
    def _cliniko_candidate_fields(self):
        """The Odoo fields of the patient's lead and partner a custom field may go to."""
        standard_targets = set()
        for row in proposer.default_rows():
            if row["resource"] == "patients":
                for target in row["targets"]:
                    standard_targets.add("%s.%s" % proposer.target_model_field("patients", target))
        candidates = []
        for model in proposer.CANDIDATE_MODELS:
            for name, field in sorted(self.env[model]._fields.items()):
                key = "%s.%s" % (model, name)
                if key in standard_targets and key not in proposer.CUSTOM_FIELD_TARGETS:
                    continue
                if not (
                    name.startswith("cliniko_")
                    or name in proposer.STANDARD_CANDIDATES.get(model, ())
                ):
                    continue
                if field.type not in proposer.CANDIDATE_TYPES or not field.store:
                    continue
                if field.compute and field.readonly:
                    continue
                if field.related:
                    continue
                # A custom field's answer is clinical: never onto a partner field every
                # internal user reads, only onto one kept for the clinical group.
                if model == "res.partner" and CLINICAL_GROUP not in (field.groups or ""):
                    continue
                candidates.append(
                    {"model": model, "name": name, "string": field.string, "type": field.type}
                )
        return candidates

    # -- actions -----------------------------------------------------------------------------
    def action_confirm(self):
        for field_map in self:
            field_map.line_ids._cliniko_check_targets()
            field_map._cliniko_mark_confirmed()
        return True

    def action_reset_to_draft(self):
        in_use = self.env["cliniko.migration.run"].search_count(
            [("field_map_id", "in", self.ids), ("state", "in", ("running", "blocked"))]
        )
        if in_use:
            raise UserError(self.env._("A run in progress uses this map; wait until it ends."))
        self._cliniko_mark_draft()
        return True

    def _cliniko_plan(self):
        """What a run does with this map (see ``FieldMapPlan``)."""
        self.ensure_one()
        return FieldMapPlan(self.line_ids)


class ClinikoFieldMapLine(models.Model):
    _name = "cliniko.field.map.line"
    _inherit = ["cliniko.confirmed.map.line.mixin"]
    _description = "Cliniko Field Map Line"
    _order = "map_id, sequence, id"

    map_id = fields.Many2one("cliniko.field.map", required=True, ondelete="cascade", index=True)
    map_state = fields.Selection(related="map_id.state")
    sequence = fields.Integer()
    resource = fields.Char(required=True)
    source_path = fields.Char(
        string="Source Field", required=True, help="e.g. patients.email, patients.custom_fields.X"
    )
    source_label = fields.Char(string="Source Label")
    source_type = fields.Char(string="Source Type")
    sample_profile = fields.Char(help="What the sampled values look like.")
    is_custom = fields.Boolean(string="Custom Field", readonly=True)
    target_kind = fields.Selection(TARGET_KINDS, string="Target", required=True, default="odoo")
    target_model = fields.Char(string="Target Model")
    target_field = fields.Char(string="Target Field")
    target_field_id = fields.Many2one(
        "ir.model.fields",
        string="Odoo Field",
        compute="_compute_target_field_id",
        inverse="_inverse_target_field_id",
        domain="[('model', 'in', ('crm.lead', 'res.partner')), ('store', '=', True)]",
    )
    default_target_model = fields.Char(readonly=True)
    default_target_field = fields.Char(readonly=True)
    value_paths = fields.Text(readonly=True, help="Where the importer's values go (one a line).")
    confidence = fields.Integer(help="0-100: how sure the proposal is.")
    reason = fields.Char()
    required = fields.Boolean(readonly=True, help="Always migrated: cannot be skipped.")
    create_only = fields.Boolean(
        string="Create Only", help="Written when the record is created, never overwritten."
    )

    _confidence_range = models.Constraint(
        "CHECK(confidence >= 0 AND confidence <= 100)", "The confidence is between 0 and 100."
    )

    @api.depends("target_model", "target_field")
    def _compute_target_field_id(self):
        wanted = {(line.target_model, line.target_field) for line in self if line.target_field}
        found = {}
        if wanted:
            for field in (
                self.env["ir.model.fields"]
                .sudo()
                .search(
                    [
                        ("model", "in", list({model for model, _name in wanted})),
                        ("name", "in", list({name for _model, name in wanted})),
                    ]
                )
            ):
                found[(field.model, field.name)] = field
        for line in self:
            line.target_field_id = found.get((line.target_model, line.target_field), False)

    def _inverse_target_field_id(self):
        for line in self:
            if line.target_field_id:
                line.target_model = line.target_field_id.model
                line.target_field = line.target_field_id.name

    @api.constrains("target_kind", "required")
    def _check_required_not_skipped(self):
        for line in self:
            if line.required and line.target_kind == "skip":
                raise ValidationError(
                    self.env._("%s is always migrated; it cannot be skipped.", line.source_path)
                )

    def _cliniko_check_targets(self):
        """Before confirming: every line going to an Odoo field names one that exists."""
        for line in self:
            if line.target_kind == "new":
                raise UserError(
                    self.env._(
                        "%s: create the new field first (Settings > Technical > Fields), then "
                        "map the line to it, or keep it in the custom fields section.",
                        line.source_path,
                    )
                )
            if line.target_kind != "odoo" or not line.is_custom:
                continue
            if line.target_model not in proposer.CANDIDATE_MODELS:
                raise UserError(
                    self.env._(
                        "%s: a custom field goes to a field of the lead or of the partner.",
                        line.source_path,
                    )
                )
            field = self.env[line.target_model]._fields.get(line.target_field or "")
            if field is None:
                raise UserError(
                    self.env._(
                        "%(path)s: the Odoo field %(model)s.%(field)s does not exist.",
                        path=line.source_path,
                        model=line.target_model,
                        field=line.target_field,
                    )
                )
            if line.target_model == "res.partner" and CLINICAL_GROUP not in (field.groups or ""):
                # The proposal never offers it and the CLI's map import refuses it: a custom
                # field's answer is clinical, and every internal user reads a contact's fields.
                raise UserError(
                    self.env._(
                        "%(path)s: a custom field's answer is clinical; it cannot go to the "
                        "contact field %(field)s, which every internal user reads. Map it to a "
                        "field of the lead, or keep it in the custom fields section.",
                        path=line.source_path,
                        field=line.target_field,
                    )
                )



class FieldMapPlan:
    """A confirmed map as a run applies it to the importers' values (no ORM after init)."""

    def __init__(self, lines):
        self.skipped = {}  # resource -> [value paths]
        self.custom = {}  # token -> ("skip"|"keep"|"odoo", model, field, field type)
        self.sources = {}  # (resource, model, field) -> source path
        self.create_only = {}  # resource -> {(model, field)}
        for line in lines:
            paths = (line.value_paths or "").split()
            for path in paths:
                model, field = proposer.target_model_field(line.resource, path)
                self.sources.setdefault((line.resource, model, field), line.source_path)
                if line.create_only:
                    self.create_only.setdefault(line.resource, set()).add((model, field))
            if line.is_custom:
                token = line.source_path.split(proposer.CUSTOM_PREFIX, 1)[-1]
                target = (
                    line.env[line.target_model]._fields.get(line.target_field or "")
                    if (line.target_kind == "odoo" and line.target_model in line.env)
                    else None
                )
                self.custom[token] = (
                    line.target_kind
                    if target is not None or line.target_kind != "odoo"
                    else "keep",
                    line.target_model,
                    line.target_field,
                    target.type if target is not None else None,
                )
                if line.target_kind == "odoo":
                    self.sources.setdefault(
                        (line.resource, line.target_model, line.target_field), line.source_path
                    )
            elif line.target_kind == "skip":
                self.skipped.setdefault(line.resource, []).extend(paths)

    def apply(self, resource, values):
        """Apply the map to the importer's ``values`` (in place) and return them."""
        if not isinstance(values, dict):
            return values
        for path in self.skipped.get(resource, ()):
            _drop(values, path)
        if resource == "patients" and self.custom and isinstance(values.get("lead"), dict):
            self._apply_custom(values)
        return values

    def _apply_custom(self, values):
        lead = values["lead"]
        raw = lead.get("cliniko_custom_fields")
        if not raw:
            return
        kept_sections = []
        for section in raw.get("sections") or []:
            kept = []
            for field in section.get("fields") or []:
                token = text(field.get("token")) or text(field.get("name"))
                kind, model, name, field_type = self.custom.get(token, ("keep", None, None, None))
                if kind == "skip":
                    continue
                kept.append(field)
                if kind == "odoo" and model and name:
                    target = values["partner"] if model == "res.partner" else lead
                    target[name] = _custom_value(field, field_type)
            if kept:
                kept_sections.append(dict(section, fields=kept))
        if kept_sections != (raw.get("sections") or []):
            lead["cliniko_custom_fields"] = (
                dict(raw, sections=kept_sections) if kept_sections else False
            )

    def expected_source(self, resource, model, field):
        return self.sources.get((resource, model, field))


def _drop(values, path):
    if "/" in path:
        key, name = path.split("/", 1)
        target = values.get(key)
        if isinstance(target, dict):
            target.pop(name, None)
    elif ":" not in path:
        values.pop(path, None)


def _custom_value(field, field_type):
    """The answer of a custom field as the value for an Odoo field of ``field_type``."""
    answer = custom_field_answer(field)
    if not answer:
        return False
    if field_type in ("date", "datetime"):
        try:
            return parse_date(answer) or False
        except ValueError:
            return False
    if field_type in ("integer", "float", "monetary"):
        try:
            number = float(answer.replace(",", "").lstrip("$€£"))
        except ValueError:
            return False
        return int(number) if field_type == "integer" else number
    return answer
