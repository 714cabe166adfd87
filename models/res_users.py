"""Cliniko identity on users: the practitioner a user stands for."""

from odoo import fields, models


class ResUsers(models.Model):
    _inherit = "res.users"

    cliniko_practitioner_id = fields.Char(
        string="Cliniko Practitioner ID", index="btree_not_null", copy=False, readonly=True
    )
    cliniko_designation = fields.Char(
        string="Designation", help="Professional title printed on Cliniko invoices."
    )
    cliniko_practitioner_active = fields.Boolean(
        string="Active Practitioner in Cliniko", copy=False, readonly=True
    )
    cliniko_placeholder = fields.Boolean(
        string="Cliniko Placeholder",
        copy=False,
        readonly=True,
        help="Created by the Cliniko migration for a practitioner who had no Odoo user: no "
        "password, no e-mail, notified in Odoo only. Give it a login to hand it over.",
    )
