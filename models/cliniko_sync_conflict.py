"""A field a delta sync left alone because someone changed it in Odoo since the last sync.

The admin sees both values and either takes Cliniko's (written now, and remembered as what
the migration wrote) or keeps Odoo's.
"""

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..migration import conflicts
from ..migration.context import silent_env
from ..migration.snapshots import restore_values


class ClinikoSyncConflict(models.Model):
    _name = "cliniko.sync.conflict"
    _inherit = "cliniko.record.link.mixin"
    _description = "Cliniko Sync Conflict"
    _order = "id desc"

    run_id = fields.Many2one("cliniko.migration.run", ondelete="cascade", index=True)
    connection_id = fields.Many2one(
        "cliniko.connection", required=True, ondelete="cascade", index=True
    )
    ref_id = fields.Many2one("cliniko.external.ref", string="Reference", ondelete="set null")
    resource = fields.Char(required=True)
    cliniko_id = fields.Char(string="Cliniko ID")
    res_model = fields.Char(string="Odoo Model", required=True)
    res_id = fields.Many2oneReference(string="Odoo Record ID", model_field="res_model")
    record_name = fields.Char(compute="_compute_record_name")
    field_name = fields.Char(required=True)
    field_label = fields.Char(compute="_compute_record_name")
    odoo_value = fields.Text(string="Odoo Value", help="The value someone set in Odoo.")
    cliniko_value = fields.Text(help="The value Cliniko holds now.")
    cliniko_value_raw = fields.Json()
    state = fields.Selection(
        [("open", "Open"), ("resolved", "Cliniko value taken"), ("kept", "Odoo value kept")],
        default="open",
        required=True,
    )
    resolved_at = fields.Datetime(readonly=True)
    resolved_by_id = fields.Many2one("res.users", readonly=True)

    @api.depends("res_model", "res_id", "field_name")
    def _compute_record_name(self):
        for conflict in self:
            Model = self.env.get(conflict.res_model)
            record = Model.browse(conflict.res_id).exists() if Model is not None else None
            conflict.record_name = record.display_name if record else False
            field = Model._fields.get(conflict.field_name) if Model is not None else None
            conflict.field_label = field.string if field else conflict.field_name

    def _record(self):
        self.ensure_one()
        record = self.env[self.res_model].with_context(active_test=False).browse(self.res_id)
        if not record.exists():
            raise UserError(self.env._("The Odoo record of this conflict no longer exists."))
        return record

    def action_take_cliniko_value(self):
        for conflict in self.filtered(lambda c: c.state == "open"):
            record = conflict._record().with_env(silent_env(self.env))
            name = conflict.field_name
            value = (conflict.cliniko_value_raw or {}).get("value")
            record.write(restore_values(record, {name: value}))
            if conflict.ref_id:
                written = dict(conflict.ref_id.cliniko_written or {})
                key = conflicts.record_key(record)
                written[key] = dict(
                    written.get(key) or {}, **{name: conflicts.current_digest(record, name)}
                )
                conflict.ref_id.sudo().cliniko_written = written
            conflict.write(
                {
                    "state": "resolved",
                    "resolved_at": fields.Datetime.now(),
                    "resolved_by_id": self.env.uid,
                }
            )
        return True

    def action_keep_odoo_value(self):
        self.filtered(lambda c: c.state == "open").write(
            {"state": "kept", "resolved_at": fields.Datetime.now(), "resolved_by_id": self.env.uid}
        )
        return True
