"""A Cliniko appointment type: leads point to it so the pipeline can be grouped by type."""

from odoo import api, fields, models


class ClinikoAppointmentType(models.Model):
    _name = "cliniko.appointment.type"
    _inherit = "cliniko.mirror.mixin"
    _description = "Clinic Appointment Type"
    _order = "name, id"

    name = fields.Char(required=True)
    category = fields.Char()
    description = fields.Text()
    duration_minutes = fields.Integer(string="Duration (minutes)")
    color = fields.Char(help="Cliniko colour, #RRGGBB.")
    max_attendees = fields.Integer(help="1 for individual appointments, more for groups.")
    is_group = fields.Boolean(
        string="Group Appointment",
        compute="_compute_is_group",
        store=True,
        help="Booked as a group appointment (more than one attendee).",
    )
    product_id = fields.Many2one(
        "product.template",
        string="Default Product",
        help="What an appointment of this type is charged: Cliniko's default billable item "
        "(or default product) of the type.",
    )
    price = fields.Float(
        related="product_id.list_price",
        store=True,
        readonly=True,
        help="Price of the type's default billable item, when known.",
    )
    stage_id = fields.Many2one(
        "crm.stage",
        string="Stage",
        help="When set, booked appointments of this type land in this stage instead of the "
        "stage of their status.",
    )

    _cliniko_appointment_type_unique = models.Constraint(
        "UNIQUE(connection_id, cliniko_id)",
        "A Cliniko appointment type can be only one type per connection.",
    )

    @api.depends("max_attendees")
    def _compute_is_group(self):
        for appointment_type in self:
            appointment_type.is_group = appointment_type.max_attendees > 1
