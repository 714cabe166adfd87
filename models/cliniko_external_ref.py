"""The binding between one Cliniko record and the Odoo record it became.

One row per migrated Cliniko record, unique per connection, resource and Cliniko id. A re-run
finds the Odoo record through this table and updates it instead of creating a duplicate; the
source ``updated_at`` it keeps tells whether the Cliniko record changed since.
"""

from odoo import api, fields, models


class ClinikoExternalRef(models.Model):
    _name = "cliniko.external.ref"
    _inherit = "cliniko.record.link.mixin"
    _description = "Cliniko External Reference"
    _order = "id desc"
    _rec_name = "cliniko_id"

    connection_id = fields.Many2one(
        "cliniko.connection", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="connection_id.company_id", store=True)
    resource = fields.Char(required=True, help="Cliniko resource, e.g. patients.")
    cliniko_id = fields.Char(
        string="Cliniko ID", required=True, help="64-bit Cliniko id, kept as text."
    )
    res_model = fields.Char(string="Odoo Model", required=True)
    res_id = fields.Many2oneReference(string="Odoo Record ID", model_field="res_model")
    run_id = fields.Many2one(
        "cliniko.migration.run",
        string="Last Run",
        ondelete="set null",
        index=True,
        help="The run that last created or updated this binding.",
    )
    source_updated_at = fields.Datetime(help="Cliniko's updated_at when last synced.")
    synced_at = fields.Datetime(default=fields.Datetime.now)
    cliniko_written = fields.Json(
        string="Last Written",
        help="Per Odoo record ('model,id') and field, a digest of the value the migration "
        "last wrote: a delta sync leaves alone a field whose value changed in Odoo since.",
    )

    _cliniko_record_unique = models.Constraint(
        "UNIQUE(connection_id, resource, cliniko_id)",
        "A Cliniko record can be bound to only one Odoo record per connection.",
    )
    _res_model_res_id_idx = models.Index("(res_model, res_id)")

    @api.depends("resource", "cliniko_id")
    def _compute_display_name(self):
        for ref in self:
            ref.display_name = f"{ref.resource}/{ref.cliniko_id}"
