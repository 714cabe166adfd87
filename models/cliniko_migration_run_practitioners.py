"""What a run does with practitioners that match no Odoo user, and how a paused run resumes.

A run pauses before appointments while a practitioner decision is empty. When the run is
started again, the gate first carries out the decisions taken meanwhile (map, placeholder,
unassigned), so appointments find their practitioner's user, then the run goes on where it
stopped.
"""

from odoo import api, fields, models

from ..migration.practitioners import PractitionerImporter
from ..migration.runner import MigrationRunner


class ClinikoMigrationRun(models.Model):
    _inherit = "cliniko.migration.run"

    unmatched_practitioners = fields.Selection(
        [
            ("placeholder", "Create a placeholder user"),
            ("unassigned", "Leave unassigned"),
        ],
        string="Unmatched Practitioners",
        help="What to do, without asking, with a practitioner whose e-mail matches no Odoo "
        "user. Empty: the run records a decision for each and pauses before appointments "
        "until you have decided.",
    )
    practitioner_pending_count = fields.Integer(
        string="Practitioners Waiting",
        compute="_compute_practitioner_pending_count",
        help="Practitioner decisions still empty.",
    )

    @api.depends("practitioner_decision_ids.decision")
    def _compute_practitioner_pending_count(self):
        for run in self:
            run.practitioner_pending_count = len(
                run.practitioner_decision_ids.filtered(lambda decision: not decision.decision)
            )

    def _cliniko_apply_practitioner_decisions(self):
        """Carry out the decisions taken since the run read its practitioners. The runner
        does so at the gate before appointments, whatever started it, so appointments find
        their practitioner's user."""
        self.ensure_one()
        read = self.resource_ids.filtered(
            lambda line: line.resource == "practitioners" and line.done
        )
        pending = self.practitioner_decision_ids.filtered(
            lambda decision: decision.decision and not decision.applied
        )
        if read and pending:
            # A runner of its own, not the caller's (a delta runner narrows and observes what
            # its client reads): a handful of requests.
            runner = MigrationRunner(self)
            PractitionerImporter(runner).apply_decisions(pending.with_env(runner.env))
