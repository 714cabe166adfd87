"""Practitioner resolution before a run starts: the admin sees every Cliniko practitioner with
its proposed Odoo user and decides for the unmatched ones.

"Resolve practitioners" reads Cliniko's practitioners (active and inactive) and plans them
exactly as the run will (``PractitionerImporter``'s planning: e-mail match, a previous run's
decision, the run's policy, a proposed user of the same name), then records a decision row for
each: "map" to the matched user where the e-mail match is certain, the unmatched left
undecided. A decision the admin already took is kept. A practitioner an earlier run bound to a
user is listed as mapped to it (already carried out).

A run that has decision rows and no default policy may not start while any is undecided.
"""

from odoo import fields, models
from odoo.exceptions import UserError

from ..cliniko_api import ClinikoError
from ..migration.practitioners import PractitionerImporter, practitioner_name
from ..migration.runner import MigrationRunner
from ..migration.values import text
from .cliniko_connection import plain_error


class ClinikoMigrationRun(models.Model):
    _inherit = "cliniko.migration.run"

    practitioners_resolved_at = fields.Datetime(
        string="Practitioners Read", readonly=True, copy=False
    )

    def _cliniko_check_practitioners_decided(self):
        """A start check (``START_CHECKS``): every practitioner without a user has a decision."""
        if self.unmatched_practitioners or not self.practitioner_decision_ids:
            return
        undecided = self.practitioner_decision_ids.filtered(lambda decision: not decision.decision)
        if undecided:
            raise UserError(
                self.env._(
                    "%(count)s practitioner(s) have no decision yet: %(names)s. On the "
                    "Practitioners tab, map each to a user, create a placeholder user or leave "
                    "it unassigned, then start the run.",
                    count=len(undecided),
                    names=", ".join(undecided.mapped("name")),
                )
            )

    def action_resolve_practitioners(self):
        """Read Cliniko's practitioners and create or refresh this run's decision rows."""
        for run in self:
            if run.state not in ("draft", "blocked"):
                raise UserError(
                    self.env._("Practitioners are resolved before the run starts or while paused.")
                )
            try:
                run._cliniko_resolve_practitioners()
            except ClinikoError as error:
                raise UserError(plain_error(error, run.connection_id.shard)) from error
        return True

    def cliniko_resolve_practitioners(self):
        """For the CLI: resolve, then ``{"decisions": {cliniko_id: decision or None},
        "undecided": [names]}``."""
        self.ensure_one()
        self.action_resolve_practitioners()
        decisions = self.practitioner_decision_ids
        return {
            "run_id": self.id,
            "decisions": {d.cliniko_id: d.decision or None for d in decisions},
            "undecided": decisions.filtered(lambda d: not d.decision).mapped("name"),
        }

    def _cliniko_resolve_practitioners(self):
        self.ensure_one()
        runner = MigrationRunner(self)
        importer = PractitionerImporter(runner)
        importer.before_resource()
        Decision = runner.env["cliniko.practitioner.decision"]
        for records in importer.pages():
            ids = [str(record["id"]) for record in records if record.get("id")]
            existing = {
                decision.cliniko_id: decision
                for decision in Decision.search(
                    [("run_id", "=", self.id), ("cliniko_id", "in", ids)]
                )
            }
            bound = runner.records(importer.resource, ids)
            # The admin's decisions stay; the planner records the unmatched (undecided).
            open_records = [
                record
                for record in records
                if not existing.get(str(record.get("id")), Decision).decision
                and str(record.get("id")) not in bound
            ]
            importer._plan_page(open_records)
            for record in records:
                pid = str(record.get("id") or "")
                if not pid:
                    continue
                user = bound.get(pid)
                plan = importer._plans.get(pid)
                if user:
                    values = {"decision": "map", "user_id": user.id, "applied": True}
                    reason = "bound to this user by an earlier run"
                elif plan and plan.kind == "map" and not existing.get(pid, Decision).decision:
                    values = {"decision": "map", "user_id": plan.user.id}
                    reason = "matched by e-mail"
                else:
                    continue
                values.update(
                    name=practitioner_name(record),
                    email=importer._email(record)[1] or False,
                    designation=text(record.get("designation")) or False,
                    cliniko_active=record.get("active") is not False,
                    proposed_user_id=values["user_id"],
                    reason=reason,
                )
                decision = existing.get(pid) or Decision.search(
                    [("run_id", "=", self.id), ("cliniko_id", "=", pid)]
                )
                if decision:
                    decision.write(values)
                else:
                    Decision.create(dict(values, run_id=self.id, cliniko_id=pid))
        self.practitioners_resolved_at = fields.Datetime.now()
        return True
