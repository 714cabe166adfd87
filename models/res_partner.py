"""Cliniko identity on contacts: the patient a partner came from."""

from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    cliniko_patient_id = fields.Char(
        string="Cliniko Patient ID", index="btree_not_null", copy=False, readonly=True
    )
    cliniko_date_of_birth = fields.Date(string="Date of Birth")
    cliniko_created_at = fields.Datetime(string="Created in Cliniko", copy=False, readonly=True)
    cliniko_updated_at = fields.Datetime(string="Updated in Cliniko", copy=False, readonly=True)
