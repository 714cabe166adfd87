"""The audit log: one line per operation a migration run performed or refused.

A line records what happened (create, update, skip, fail, delete), to which Cliniko record and
which Odoo record, and why. Update lines keep the previous values of the fields they changed,
which is what a rollback writes back.
"""

from odoo import api, fields, models

ACTIONS = [
    ("create", "Create"),
    ("update", "Update"),
    ("skip", "Skip"),
    ("fail", "Fail"),
    ("delete", "Delete"),
    ("acknowledge", "Acknowledge"),
]


class ClinikoAuditLog(models.Model):
    _name = "cliniko.audit.log"
    _inherit = "cliniko.record.link.mixin"
    _description = "Cliniko Migration Audit Log"
    _order = "id desc"
    _log_access = True

    run_id = fields.Many2one("cliniko.migration.run", required=True, ondelete="cascade", index=True)
    connection_id = fields.Many2one(related="run_id.connection_id", store=True)
    company_id = fields.Many2one(related="run_id.company_id", store=True)
    action = fields.Selection(ACTIONS, required=True, index=True)
    resource = fields.Char(index=True)
    cliniko_id = fields.Char(string="Cliniko ID", index=True)
    res_model = fields.Char(string="Odoo Model")
    res_id = fields.Many2oneReference(string="Odoo Record ID", model_field="res_model")
    message = fields.Text()
    previous_values = fields.Json(
        help="For updates: the values the fields had before, enough to restore them."
    )
    reference = fields.Reference(
        selection="_selection_reference",
        string="Odoo Record",
        compute="_compute_reference",
        help="The Odoo record the line is about (empty once it no longer exists).",
    )
    unchanged = fields.Boolean(
        help="A skip that is no news: the record was migrated before and has not changed in "
        "Cliniko since (counted as unchanged, not as skipped).",
    )
    patient_name = fields.Char(
        string="Patient",
        help="For a skipped or failed record: the patient it is (or belongs to), as Cliniko or "
        "the migrated contact names them, else empty.",
    )
    is_rollback = fields.Boolean(
        help="Written by a rollback of the run, not by the run itself.", index=True
    )

    @api.model
    def _selection_reference(self):
        return [(model.model, model.name) for model in self.env["ir.model"].sudo().search([])]

    @api.depends("res_model", "res_id")
    def _compute_reference(self):
        existing = {}
        for model, lines in self.grouped(lambda line: line.res_model or "").items():
            if model in self.env:
                ids = set(lines.mapped("res_id")) - {0}
                records = self.env[model].with_context(active_test=False).browse(list(ids))
                existing[model] = set(records.exists().ids)
        for line in self:
            found = line.res_id and line.res_id in existing.get(line.res_model or "", ())
            line.reference = "%s,%s" % (line.res_model, line.res_id) if found else False
