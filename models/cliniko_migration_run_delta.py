"""Delta sync on the run: its window, its watermark, conflicts, the lock, the reconciliation.

* A delta run (``run_type = 'delta'``) is executed by ``migration.delta.DeltaRunner``.
* Every full or delta run notes the time it started querying (``delta_watermark``); when it
  finishes successfully the connection's watermark moves to it (never on failure or pause).
* The lock: starting a run takes a row lock on its connection (``FOR UPDATE NOWAIT``) and
  refuses while another run of the same connection is running, so two runs never overlap.
"""

from markupsafe import Markup

from odoo import api, fields, models

from ..migration.delta import DeltaRunner


class ClinikoMigrationRun(models.Model):
    _inherit = "cliniko.migration.run"

    delta_watermark = fields.Datetime(
        string="Watermark",
        readonly=True,
        copy=False,
        help="Taken before the run's first query: the connection's watermark once the run "
        "has finished successfully.",
    )
    delta_since = fields.Datetime(
        string="Changes Since",
        readonly=True,
        copy=False,
        help="Start of the window a delta run read (the previous watermark minus the buffer).",
    )
    is_final_sync = fields.Boolean(string="Final Sync", readonly=True, copy=False)
    reconciliation = fields.Json(string="Reconciliation Data", readonly=True, copy=False)
    # Built with markupsafe from an RPC-writable JSON field and API numbers: every value is
    # escaped, and the ORM sanitizes the result once more.
    reconciliation_html = fields.Html(
        string="Reconciliation", compute="_compute_reconciliation_html"
    )
    conflict_ids = fields.One2many("cliniko.sync.conflict", "run_id", string="Conflicts")
    conflict_count = fields.Integer(compute="_compute_conflict_count")

    @api.depends("conflict_ids")
    def _compute_conflict_count(self):
        for run in self:
            run.conflict_count = len(run.conflict_ids)

    @api.depends("reconciliation")
    def _compute_reconciliation_html(self):
        for run in self:
            rows = run.reconciliation or []
            if not rows:
                run.reconciliation_html = False
                continue
            body = Markup("").join(
                Markup("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>").format(
                    row.get("label"),
                    "?" if row.get("cliniko") is None else row.get("cliniko"),
                    row.get("references"),
                    row.get("odoo"),
                    row.get("odoo_active"),
                )
                for row in rows
                if isinstance(row, dict)
            )
            run.reconciliation_html = Markup(
                '<table class="table table-sm"><thead><tr><th>Resource</th><th>In Cliniko</th>'
                "<th>Reference rows</th><th>Odoo records</th><th>Active in Odoo</th></tr>"
                "</thead><tbody>{}</tbody></table>"
            ).format(body)

    # -- lock --------------------------------------------------------------------------------
    def _cliniko_check_connection_free(self):
        """A start check (``START_CHECKS``): no other run of the connection is running."""
        self.connection_id._cliniko_lock_for_run(self)

    # -- start -------------------------------------------------------------------------------
    def _cliniko_runner(self, **options):
        """A delta is carried out by the delta runner, in one batch: what it learns while
        reading (merges, removals) lives in the runner, so it is not split across batches."""
        if self.run_type == "delta":
            return DeltaRunner(self)
        return super()._cliniko_runner(**options)

    def _cliniko_note_watermark(self):
        """The run's watermark: when it started reading (kept on a resumed run). The runner
        calls it once the run is marked running."""
        for run in self.filtered(lambda run: not run.delta_watermark):
            run.delta_watermark = run.started_at or fields.Datetime.now()

    def _cliniko_advance_watermark(self):
        """Move the connection's watermark to this run's: only after a successful full
        migration of everything, or a successful delta. The runner calls it once the run is
        marked done."""
        self.ensure_one()
        complete = self.run_type == "delta" or (
            self.run_type == "full" and not self._selected_resources()
        )
        if not complete or not self.delta_watermark:
            return
        connection = self.connection_id
        values = {}
        if not connection.delta_watermark or connection.delta_watermark < self.delta_watermark:
            values["delta_watermark"] = self.delta_watermark
        if self.run_type == "delta":
            values["delta_last_success"] = fields.Datetime.now()
        if values:
            connection.sudo().write(values)

    def _cliniko_on_finished(self):
        """A final sync that ended well stores its reconciliation report, whether it ran in
        this process (the command line) or in the background (the form's Final Sync)."""
        result = super()._cliniko_on_finished()
        for run in self:
            if run.is_final_sync and run.state == "done" and not run.reconciliation:
                run._cliniko_reconcile()
        return result

    def _cliniko_reconcile(self):
        self.ensure_one()
        self.reconciliation = DeltaRunner(self).reconcile()
        return self.reconciliation

    def summary(self):
        result = super().summary()
        conflicted = {line.resource: line.conflicted for line in self.resource_ids}
        for resource, counters in result["resources"].items():
            counters["conflicted"] = conflicted.get(resource, 0)
        result.update(
            run_type=self.run_type,
            watermark=fields.Datetime.to_string(self.delta_watermark) or None,
            since=fields.Datetime.to_string(self.delta_since) or None,
            conflicts=len(self.conflict_ids),
            reconciliation=self.reconciliation or None,
        )
        return result

    def action_view_conflicts(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "cliniko_crm_migration.action_cliniko_sync_conflict"
        )
        action["domain"] = [("run_id", "=", self.id)]
        return action


class ClinikoMigrationRunResource(models.Model):
    _inherit = "cliniko.migration.run.resource"

    conflicted = fields.Integer(
        help="Updated records where fields changed in Odoo since were left alone (also "
        "counted as updated)."
    )
