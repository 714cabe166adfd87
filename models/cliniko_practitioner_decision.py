"""What the run does with each Cliniko practitioner: map to a user, a placeholder, or nobody.

Practitioners are matched to Odoo users by e-mail. One that matches no user is never created
silently: appointments wait until the admin has recorded a decision for it on the run.
"""

from odoo import fields, models

DECISIONS = [
    ("map", "Map to an existing user"),
    ("placeholder", "Create a placeholder user"),
    ("unassigned", "Leave unassigned"),
]


class ClinikoPractitionerDecision(models.Model):
    _name = "cliniko.practitioner.decision"
    _description = "Cliniko Practitioner Decision"
    _order = "run_id, name, id"

    run_id = fields.Many2one("cliniko.migration.run", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="run_id.company_id", store=True)
    cliniko_id = fields.Char(string="Cliniko Practitioner ID", required=True)
    name = fields.Char(required=True)
    email = fields.Char()
    designation = fields.Char()
    cliniko_active = fields.Boolean(string="Active in Cliniko", default=True)
    proposed_user_id = fields.Many2one(
        "res.users", string="Proposed User", help="The user whose e-mail matches."
    )
    decision = fields.Selection(DECISIONS)
    user_id = fields.Many2one(
        "res.users",
        string="User",
        help="The user appointments are assigned to (for 'map' and, once created, 'placeholder').",
    )

    _run_practitioner_unique = models.Constraint(
        "UNIQUE(run_id, cliniko_id)", "One decision per practitioner and run."
    )
