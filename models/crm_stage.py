"""The clinic's pipeline stages, tagged with the Cliniko status each one stands for."""

from odoo import api, fields, models

CLINIKO_STATUSES = [
    ("patient", "Patient"),
    ("booked", "Booked"),
    ("arrived", "Arrived"),
    ("completed", "Completed"),
    ("did_not_arrive", "Did not arrive"),
    ("cancelled", "Cancelled"),
]


class CrmStage(models.Model):
    _inherit = "crm.stage"

    cliniko_status = fields.Selection(
        CLINIKO_STATUSES,
        string="Cliniko Status",
        index="btree_not_null",
        help="Migrated Cliniko records in this status land in this stage.",
    )

    @api.model
    def _cliniko_stage(self, status):
        return self.search([("cliniko_status", "=", status)], order="sequence, id", limit=1)
