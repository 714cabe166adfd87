"""Abstract models that several of the addon's models share.

``cliniko.record.link.mixin``: a line that points to an Odoo record (``res_model`` + ``res_id``)
and opens it in one click: the audit log, the external references, the sync conflicts and the
verification and sample lines. ``cliniko.mirror.mixin``: an Odoo record that mirrors one Cliniko
record of one connection (locations, appointment types, invoices).
``cliniko.confirmed.map.mixin`` and ``cliniko.confirmed.map.line.mixin``: a map the admin
confirms before anything moves (the API's field map, a Data Export's column map), which cannot
be changed once confirmed, nor can its lines.
"""

from odoo import fields, models
from odoo.exceptions import UserError

# What may still be written on a confirmed map: going back to draft, and its name.
CONFIRMED_MAP_WRITABLE = frozenset({"state", "confirmed_by_id", "confirmed_at", "name"})


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


class ClinikoConfirmedMapMixin(models.AbstractModel):
    _name = "cliniko.confirmed.map.mixin"
    _description = "Map confirmed by the admin before anything moves"

    state = fields.Selection(
        [("draft", "Draft"), ("confirmed", "Confirmed")],
        default="draft",
        required=True,
        readonly=True,
        copy=False,
    )
    confirmed_by_id = fields.Many2one("res.users", string="Confirmed By", readonly=True, copy=False)
    confirmed_at = fields.Datetime(readonly=True, copy=False)

    def _cliniko_mark_confirmed(self):
        self.write(
            {
                "state": "confirmed",
                "confirmed_by_id": self.env.user.id,
                "confirmed_at": fields.Datetime.now(),
            }
        )

    def _cliniko_mark_draft(self):
        self.write({"state": "draft", "confirmed_by_id": False, "confirmed_at": False})

    def write(self, values):
        if set(values) - CONFIRMED_MAP_WRITABLE and any(m.state == "confirmed" for m in self):
            raise UserError(self.env._("A confirmed map cannot be changed; reset it to draft."))
        return super().write(values)


class ClinikoConfirmedMapLineMixin(models.AbstractModel):
    _name = "cliniko.confirmed.map.line.mixin"
    _description = "Line of a map confirmed by the admin"

    # The inheriting model defines map_id, a Many2one to its cliniko.confirmed.map.mixin model.

    def write(self, values):
        if any(line.map_id.state == "confirmed" for line in self):
            raise UserError(self.env._("A confirmed map cannot be changed; reset it to draft."))
        return super().write(values)
