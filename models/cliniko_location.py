"""A clinic location (a Cliniko business) that leads and appointments point to."""

from odoo import fields, models


class ClinikoLocation(models.Model):
    _name = "cliniko.location"
    _inherit = "cliniko.mirror.mixin"
    _description = "Clinic Location"
    _order = "name, id"

    name = fields.Char(required=True)
    street = fields.Char()
    street2 = fields.Char()
    city = fields.Char()
    zip = fields.Char()
    state_id = fields.Many2one("res.country.state", string="State")
    country_id = fields.Many2one("res.country", string="Country")
    tz = fields.Char(string="Time Zone", help="IANA time zone of the location, for display.")
    email = fields.Char(help="The address patients' replies go to (Cliniko's 'email reply to').")
    website = fields.Char()
    registration = fields.Char(help="Business registration, e.g. 'ABN 12 345 678 901'.")
    contact_information = fields.Text(help="Free text contact details as kept in Cliniko.")

    _cliniko_location_unique = models.Constraint(
        "UNIQUE(connection_id, cliniko_id)",
        "A Cliniko business can be only one location per connection.",
    )
