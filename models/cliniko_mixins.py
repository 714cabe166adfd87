"""Abstract models that several of the addon's models share.

``cliniko.record.link.mixin``: a line that points to an Odoo record (``res_model`` + ``res_id``)
and opens it in one click: the audit log, the external references, the sync conflicts and the
verification and sample lines. ``cliniko.mirror.mixin``: an Odoo record that mirrors one Cliniko
record of one connection (locations, appointment types, invoices).
"""

from odoo import fields, models


class ClinikoRecordLinkMixin(models.AbstractModel):
    _name = "cliniko.record.link.mixin"
    _description = "Line that opens the Odoo record it points to"

    # The inheriting model defines res_model (Char) and res_id (Many2oneReference): whether they
    # are required, and their labels, differ from model to model.

    def action_open_record(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
        }


class ClinikoMirrorMixin(models.AbstractModel):
    _name = "cliniko.mirror.mixin"
    _description = "Odoo record mirroring one Cliniko record of a connection"

    active = fields.Boolean(default=True)
    connection_id = fields.Many2one("cliniko.connection", ondelete="cascade", index=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    cliniko_id = fields.Char(string="Cliniko ID", index="btree_not_null", readonly=True)
