"""What the run does with each Cliniko practitioner: map to a user, a placeholder, or nobody.

Practitioners are matched to Odoo users by e-mail. One that matches no user is never created
silently: the run records a decision row for it, and appointments wait until the admin has
chosen. Resuming the run carries the decisions out (``applied``), after which they are fixed.
"""

from odoo import api, fields, models
from odoo.exceptions import ValidationError

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
    email = fields.Char(help="The e-mail of the practitioner's Cliniko user, as typed there.")
    designation = fields.Char()
    cliniko_active = fields.Boolean(string="Active in Cliniko", default=True)
    reason = fields.Char(
        string="Why Unmatched", readonly=True, help="Why no Odoo user was matched by e-mail."
    )
    proposed_user_id = fields.Many2one(
        "res.users",
        string="Proposed User",
        help="A user that may be this practitioner (same e-mail but archived, portal or "
        "ambiguous; or the same name).",
    )
    decision = fields.Selection(DECISIONS)
    user_id = fields.Many2one(
        "res.users",
        string="User",
        help="The user appointments are assigned to (for 'map' and, once created, 'placeholder').",
    )
    applied = fields.Boolean(
        readonly=True, copy=False, help="The run has carried this decision out; it is now fixed."
    )

    _run_practitioner_unique = models.Constraint(
        "UNIQUE(run_id, cliniko_id)", "One decision per practitioner and run."
    )

    @api.constrains("decision", "user_id")
    def _check_map_has_user(self):
        for decision in self:
            if decision.decision == "map" and not decision.user_id:
                raise ValidationError(
                    self.env._("Choose the user to map practitioner %s to.", decision.name)
                )

    @api.onchange("decision")
    def _onchange_decision(self):
        if self.decision == "map" and not self.user_id:
            self.user_id = self.proposed_user_id
        elif self.decision == "unassigned":
            self.user_id = False
