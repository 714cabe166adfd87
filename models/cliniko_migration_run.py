"""A migration run: one pass that reads Cliniko and writes Odoo, with its counters and log.

The work itself is done by ``migration.runner.MigrationRunner``; this model is what the admin
sees: the state, when it started and ended, per-resource counters, the waits and errors, and
the audit lines it wrote.
"""

import json

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..migration import graph
from ..migration.runner import MigrationRunner

STATES = [
    ("draft", "Draft"),
    ("running", "Running"),
    ("blocked", "Needs Decisions"),
    ("done", "Done"),
    ("failed", "Failed"),
    ("rolled_back", "Rolled Back"),
]
COUNTERS = ("fetched", "created", "updated", "skipped", "failed")


class ClinikoMigrationRun(models.Model):
    _name = "cliniko.migration.run"
    _description = "Cliniko Migration Run"
    _order = "id desc"

    connection_id = fields.Many2one(
        "cliniko.connection", required=True, ondelete="restrict", index=True
    )
    company_id = fields.Many2one(related="connection_id.company_id", store=True)
    state = fields.Selection(STATES, default="draft", required=True, readonly=True, copy=False)
    run_type = fields.Selection(
        [("full", "Full migration"), ("sample", "Sample"), ("delta", "Delta sync")],
        default="full",
        required=True,
    )
    resources = fields.Char(
        string="Selected Resources",
        help="Comma-separated Cliniko resources to migrate (with what they depend on); "
        "empty means all.",
    )
    started_at = fields.Datetime(readonly=True, copy=False)
    finished_at = fields.Datetime(readonly=True, copy=False)
    rolled_back_at = fields.Datetime(readonly=True, copy=False)
    resource_ids = fields.One2many(
        "cliniko.migration.run.resource", "run_id", string="Progress", readonly=True
    )
    audit_ids = fields.One2many("cliniko.audit.log", "run_id", string="Audit Log", readonly=True)
    audit_count = fields.Integer(compute="_compute_audit_count")
    practitioner_decision_ids = fields.One2many(
        "cliniko.practitioner.decision", "run_id", string="Practitioners"
    )
    log = fields.Text(readonly=True, copy=False)
    error_message = fields.Text(readonly=True, copy=False)

    @api.depends("connection_id", "run_type")
    def _compute_display_name(self):
        types = dict(self._fields["run_type"].selection)
        for run in self:
            run.display_name = "%s #%s (%s)" % (
                run.connection_id.name or "",
                run.id or "",
                types.get(run.run_type, ""),
            )

    def _compute_audit_count(self):
        counts = dict(
            self.env["cliniko.audit.log"]._read_group(
                [("run_id", "in", self.ids)], ["run_id"], ["__count"]
            )
        )
        for run in self:
            run.audit_count = counts.get(run, 0)

    def _cliniko_undecided_practitioners(self):
        """Practitioner decisions of this run still waiting for the admin."""
        self.ensure_one()
        return self.practitioner_decision_ids.filtered(lambda decision: not decision.decision)

    def _selected_resources(self):
        self.ensure_one()
        return [name.strip() for name in (self.resources or "").split(",") if name.strip()]

    def _log(self, line):
        self.ensure_one()
        stamp = fields.Datetime.to_string(fields.Datetime.now())
        self.log = "%s%s %s\n" % (self.log or "", stamp, line)

    def _cliniko_check_startable(self):
        """Raise a UserError saying why this run may not move any record yet.

        Extended by the workflow steps that must come first (e.g. a confirmed field map).
        """
        self.ensure_one()
        if self.state not in ("draft", "blocked"):
            raise UserError(self.env._("Only a draft or paused run can be started."))

    # -- actions -----------------------------------------------------------------------------
    def action_start(self):
        for run in self:
            run._cliniko_check_startable()
            MigrationRunner(run).execute()
        return True

    def action_rollback(self):
        for run in self:
            if run.state in ("draft", "running"):
                raise UserError(self.env._("Only a finished or failed run can be rolled back."))
            MigrationRunner(run).rollback()
        return True

    def action_view_audit(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "cliniko_crm_migration.action_cliniko_audit_log"
        )
        action["domain"] = [("run_id", "=", self.id)]
        return action

    # -- reporting ---------------------------------------------------------------------------
    def summary(self):
        """The run as the headless command reports it (one JSON-serialisable dict)."""
        self.ensure_one()
        resources = {
            line.resource: {name: line[name] for name in COUNTERS}
            for line in self.resource_ids.sorted("sequence")
        }
        return {
            "run_id": self.id,
            "state": self.state,
            "resources": resources,
            "error": self.error_message or None,
        }

    def summary_json(self):
        return json.dumps(self.summary(), sort_keys=False)


class ClinikoMigrationRunResource(models.Model):
    _name = "cliniko.migration.run.resource"
    _description = "Cliniko Migration Run Counters"
    _order = "sequence, id"

    run_id = fields.Many2one("cliniko.migration.run", required=True, ondelete="cascade", index=True)
    resource = fields.Char(required=True)
    label = fields.Char(compute="_compute_label")
    sequence = fields.Integer()
    fetched = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    skipped = fields.Integer()
    failed = fields.Integer()
    done = fields.Boolean(help="Every page of this resource was migrated.")

    _run_resource_unique = models.Constraint(
        "UNIQUE(run_id, resource)", "One counter line per resource and run."
    )

    @api.depends("resource")
    def _compute_label(self):
        for line in self:
            try:
                line.label = graph.get(line.resource).label
            except KeyError:
                line.label = line.resource
