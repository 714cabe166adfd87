"""What the verification of a run and the diff of a sample found.

``cliniko.verification.resource``: per resource, Cliniko's count, the reference rows, the Odoo
records they point to and the run's counters, whether they reconcile, and the failed records
with their reasons. ``cliniko.verification.mismatch``: a migrated field that does not hold what
Cliniko's record says (acknowledged by the admin, who and when, or fixed).
``cliniko.verification.check``: per resource and field, how many records were compared and how
many matched (the sign-off's "matches"). ``cliniko.sample.diff``: per record and field of a
sample, source value -> expected Odoo value -> actual Odoo value.
"""

from odoo import api, fields, models

BASES = [
    ("cliniko", "Cliniko's record (sign-off rules)"),
    ("map", "Importer under the field map"),
]


class _FieldCheck(models.AbstractModel):
    """One field of one migrated record: what it should hold and what it holds."""

    _name = "cliniko.field.check.mixin"
    _inherit = "cliniko.record.link.mixin"
    _description = "Checked field of a migrated Odoo record"

    run_id = fields.Many2one("cliniko.migration.run", required=True, ondelete="cascade", index=True)
    resource = fields.Char(required=True)
    cliniko_id = fields.Char(string="Cliniko ID")
    res_model = fields.Char(string="Model")
    res_id = fields.Many2oneReference(model_field="res_model", string="Record ID")
    record_ref = fields.Reference(
        selection="_selection_record_ref", compute="_compute_record_ref", string="Record"
    )
    field_name = fields.Char(string="Field")
    source_path = fields.Char(string="Source Field")
    basis = fields.Selection(
        BASES,
        default="map",
        help="Where the expected value comes from: the sign-off rules, which read Cliniko's "
        "record apart from the importers, or the importer's mapping under the field map.",
    )
    expected = fields.Text()
    actual = fields.Text()

    @api.model
    def _selection_record_ref(self):
        return [(model.model, model.name) for model in self.env["ir.model"].sudo().search([])]

    @api.depends("res_model", "res_id")
    def _compute_record_ref(self):
        for line in self:
            line.record_ref = (
                "%s,%s" % (line.res_model, line.res_id)
                if line.res_model in self.env and line.res_id
                else False
            )


class ClinikoVerificationMismatch(models.Model):
    _name = "cliniko.verification.mismatch"
    _inherit = "cliniko.field.check.mixin"
    _description = "Cliniko Verification Mismatch"
    _order = "run_id, resource, cliniko_id, field_name, id"

    acknowledged = fields.Boolean(help="The admin accepts this difference.")
    acknowledged_by = fields.Many2one("res.users", readonly=True)
    acknowledged_at = fields.Datetime(readonly=True)

    def write(self, vals):
        # who accepted a difference, and when, whichever way it was ticked
        if "acknowledged" in vals:
            vals = dict(
                vals,
                acknowledged_by=self.env.user.id if vals["acknowledged"] else False,
                acknowledged_at=fields.Datetime.now() if vals["acknowledged"] else False,
            )
        return super().write(vals)

    def action_acknowledge(self):
        self.filtered(lambda line: not line.acknowledged).write({"acknowledged": True})
        return True


class ClinikoSampleDiff(models.Model):
    _name = "cliniko.sample.diff"
    _inherit = "cliniko.field.check.mixin"
    _description = "Cliniko Sample Field Diff"
    # mismatches first, then record by record
    _order = "match, sequence, id"

    sequence = fields.Integer()
    source_value = fields.Text()
    match = fields.Boolean(index=True)


class ClinikoVerificationResource(models.Model):
    _name = "cliniko.verification.resource"
    _description = "Cliniko Verification per Resource"
    _order = "run_id, sequence, id"

    run_id = fields.Many2one("cliniko.migration.run", required=True, ondelete="cascade", index=True)
    sequence = fields.Integer()
    resource = fields.Char(required=True)
    cliniko_known = fields.Boolean(help="Cliniko answered the count.")
    cliniko_count = fields.Integer(string="In Cliniko")
    reference_count = fields.Integer(string="References")
    odoo_count = fields.Integer(string="Odoo Records")
    fetched = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    skipped = fields.Integer()
    failed = fields.Integer()
    reconciled = fields.Boolean()
    problems = fields.Text(help="Why the counts do not reconcile.")
    failures = fields.Text(help="The failed records with their reasons (from the audit log).")


class ClinikoVerificationCheck(models.Model):
    _name = "cliniko.verification.check"
    _description = "Cliniko Verification: Fields Compared"
    _order = "run_id, sequence, resource, res_model, field_name, id"

    run_id = fields.Many2one("cliniko.migration.run", required=True, ondelete="cascade", index=True)
    sequence = fields.Integer()
    resource = fields.Char(required=True)
    res_model = fields.Char(string="Model")
    field_name = fields.Char(string="Field")
    basis = fields.Selection(BASES)
    checked = fields.Integer(string="Records Compared")
    matched = fields.Integer()
    mismatched = fields.Integer(compute="_compute_mismatched")

    @api.depends("checked", "matched")
    def _compute_mismatched(self):
        for line in self:
            line.mismatched = line.checked - line.matched
