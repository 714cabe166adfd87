"""A clinic location (a Cliniko business) that leads and appointments point to."""

from odoo import fields, models


class ClinikoLocation(models.Model):
    _name = "cliniko.location"
    _description = "Clinic Location"
    _order = "name, id"

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    connection_id = fields.Many2one("cliniko.connection", ondelete="cascade", index=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    cliniko_id = fields.Char(string="Cliniko ID", index="btree_not_null", readonly=True)
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
