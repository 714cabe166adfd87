"""Delta sync and cutover on the connection: schedule, watermark, "sync now", final sync.

After the full migration, a scheduled job (``data/cliniko_delta_cron.xml``: one job for every
connection) runs a delta sync for each connection whose delta sync is on and whose interval has
elapsed. The cutover window runs from the first delta (``delta_started_at``) until the clinic
declares Cliniko switched off; the final sync then runs a last delta and stores a
reconciliation report (per resource: Cliniko's count, reference rows, Odoo records) on its run;
the scheduled delta syncs stop then. From the web client the final sync, like *Sync Now*, is a
run queued for the scheduler (``cliniko.migration.run.action_start``), never done in the request.
"""

import logging

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..migration.runner import in_test_mode

_logger = logging.getLogger(__name__)


class ClinikoConnection(models.Model):
    _inherit = "cliniko.connection"

    delta_enabled = fields.Boolean(
        string="Scheduled Delta Sync",
        help="Carry what changes in Cliniko into Odoo on a schedule, until Cliniko is switched "
        "off.",
    )
    delta_interval_minutes = fields.Integer(string="Every (minutes)", default=60)
    delta_buffer_minutes = fields.Integer(
        string="Overlap (minutes)",
        default=5,
        help="Each sync reads again what changed this long before the watermark (clock skew, "
        "slow commits in Cliniko); what is already up to date is skipped.",
    )
    delta_watermark = fields.Datetime(
        string="Watermark",
        readonly=True,
        copy=False,
        help="Start of the last successful full migration or delta sync: the next delta reads "
        "what changed since (minus the overlap).",
    )
    delta_last_success = fields.Datetime(string="Last Successful Sync", readonly=True, copy=False)
    delta_last_attempt = fields.Datetime(string="Last Sync Attempt", readonly=True, copy=False)
    delta_next_at = fields.Datetime(string="Next Scheduled Sync", compute="_compute_delta_next_at")
    delta_started_at = fields.Datetime(string="Delta Sync Started", readonly=True, copy=False)
    cliniko_switched_off_at = fields.Datetime(
        string="Cliniko Switched Off", readonly=True, copy=False
    )
    final_run_id = fields.Many2one("cliniko.migration.run", string="Final Sync", readonly=True)
    conflict_open_count = fields.Integer(
        string="Open Conflicts", compute="_compute_conflict_open_count"
    )

    @api.depends("delta_enabled", "delta_interval_minutes", "delta_last_attempt")
    def _compute_delta_next_at(self):
        cron = self.env.ref(
            "cliniko_crm_migration.ir_cron_cliniko_delta_sync", raise_if_not_found=False
        )
        cron_next = cron.sudo().nextcall if cron and cron.sudo().active else False
        for connection in self:
            if not connection.delta_enabled or connection.cliniko_switched_off_at or not cron_next:
                connection.delta_next_at = False
                continue
            due = connection._cliniko_delta_due_at()
            connection.delta_next_at = max(due, cron_next) if due else cron_next

    def _compute_conflict_open_count(self):
        counts = dict(
            self.env["cliniko.sync.conflict"]._read_group(
                [("connection_id", "in", self.ids), ("state", "=", "open")],
                ["connection_id"],
                ["__count"],
            )
        )
        for connection in self:
            connection.conflict_open_count = counts.get(connection, 0)

    def _cliniko_delta_due_at(self):
        self.ensure_one()
        if not self.delta_last_attempt:
            return False
        return fields.Datetime.add(
            self.delta_last_attempt, minutes=max(1, self.delta_interval_minutes or 0)
        )

    # -- the lock ----------------------------------------------------------------------------
    def _cliniko_lock_for_run(self, run=None):
        """Refuse (UserError) while another run of this connection runs; else hold the
        connection's row lock until the starting run is marked running and committed."""
        self.ensure_one()
        lock_connection(self)
        running = self.env["cliniko.migration.run"].search(
            [
                ("connection_id", "=", self.id),
                ("state", "=", "running"),
                ("id", "!=", run.id if run else 0),
            ]
        )
        interrupted = running.filtered(lambda other: other._cliniko_is_interrupted())
        # An interrupted delta is superseded: the next one reads its window again (the
        # watermark only moves when a delta finishes). An interrupted full run can be resumed.
        for other in interrupted.filtered(lambda other: other.run_type == "delta"):
            other.write(
                {
                    "state": "failed",
                    "error_message": "Interrupted (its process ended); the next delta sync "
                    "reads its window again.",
                    "finished_at": fields.Datetime.now(),
                }
            )
        running = (running - interrupted)[:1]
        if running:
            raise UserError(
                self.env._(
                    "%(run)s is still running on this connection: two runs may not run at "
                    "once. Wait until it has finished.",
                    run=running.display_name,
                )
            )

    # -- delta sync --------------------------------------------------------------------------
    def _cliniko_last_full_run(self):
        return self.env["cliniko.migration.run"].search(
            [("connection_id", "=", self.id), ("run_type", "=", "full"), ("state", "=", "done")],
            order="id desc",
            limit=1,
        )

    def cliniko_delta_sync(self, final=False):
        """Run one delta sync of this connection now; return the run's summary (a
        JSON-serialisable dict, as ``cliniko.migration.run.summary``), or
        ``{"run_id": None, "state": "refused", "error": ...}`` when another run of the
        connection is running."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                self._cliniko_lock_for_run()
        except UserError as error:
            return {"run_id": None, "state": "refused", "resources": {}, "error": str(error)}
        full = self._cliniko_last_full_run()
        if not full:
            run = self.env["cliniko.migration.run"].create(
                {"connection_id": self.id, "run_type": "delta", "is_final_sync": bool(final)}
            )
            message = self.env._(
                "This connection has no finished full migration yet: run the full migration "
                "first, then the delta sync picks up what changed since it started."
            )
            run.write(
                {"state": "failed", "error_message": message, "finished_at": fields.Datetime.now()}
            )
            run._log("Run failed: %s" % message)
            return run.summary()
        run = self.env["cliniko.migration.run"].create(
            {
                "connection_id": self.id,
                "run_type": "delta",
                "is_final_sync": bool(final),
                # the practitioner policy of the last full run; without one a new unmatched
                # practitioner pauses the delta (state 'blocked', the reason in its message)
                "unmatched_practitioners": full.unmatched_practitioners or False,
                "appointment_mode": full.appointment_mode or "lead_per_appointment",
                # the map the clinic confirmed for its migration
                "field_map_id": full.field_map_id.id,
            }
        )
        self.sudo().delta_last_attempt = fields.Datetime.now()
        if final:
            # the last sync: the scheduled ones stop (switch them on again to carry on)
            self.sudo().write({"final_run_id": run.id, "delta_enabled": False})
            run._log("Final sync: scheduled delta syncs of the connection are switched off")
        # a final run that ends (here or in the background) stores its reconciliation:
        # see cliniko.migration.run._cliniko_on_finished
        run.action_start()
        return run.summary()

    def action_delta_sync_now(self):
        self.ensure_one()
        summary = self.cliniko_delta_sync()
        if summary["state"] == "refused":
            raise UserError(summary["error"])
        return self._cliniko_open_run(summary["run_id"])

    def action_switch_off_cliniko(self):
        """The clinic declares it stopped using Cliniko: scheduled syncs stop."""
        for connection in self:
            connection.sudo().write(
                {"cliniko_switched_off_at": fields.Datetime.now(), "delta_enabled": False}
            )
        return True

    def action_final_sync(self):
        """The form's Final Sync (it asks first): a last delta run, queued for the scheduler
        from the web client like any run, then its reconciliation report; the scheduled
        delta syncs stop."""
        self.ensure_one()
        summary = self.cliniko_delta_sync(final=True)
        if summary["state"] == "refused":
            raise UserError(summary["error"])
        return self._cliniko_open_run(summary["run_id"])

    def _cliniko_open_run(self, run_id):
        return {
            "type": "ir.actions.act_window",
            "res_model": "cliniko.migration.run",
            "res_id": run_id,
            "view_mode": "form",
        }

    def action_view_conflicts(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "cliniko_crm_migration.action_cliniko_sync_conflict"
        )
        action["domain"] = [("connection_id", "=", self.id)]
        action["context"] = {"search_default_open": 1}
        return action

    @api.model
    def _cron_cliniko_delta_sync(self):
        """The scheduled job: a delta for every connection that is due."""
        now = fields.Datetime.now()
        connections = self.search(
            [
                ("delta_enabled", "=", True),
                ("cliniko_switched_off_at", "=", False),
                ("delta_watermark", "!=", False),
            ]
        )
        for connection in connections:
            due = connection._cliniko_delta_due_at()
            if due and due > now:
                continue
            try:
                summary = connection.cliniko_delta_sync()
            except Exception:
                _logger.exception("Delta sync of Cliniko connection %s failed", connection.id)
                self.env.cr.rollback()
                continue
            _logger.info("Delta sync of connection %s: %s", connection.id, summary["state"])
            if not in_test_mode():
                self.env.cr.commit()


def lock_connection(connection):
    """Row-lock the connection for this transaction; UserError if another holds it."""
    try:
        with connection.env.cr.savepoint(flush=False):
            connection.env.cr.execute(
                "SELECT id FROM cliniko_connection WHERE id = %s FOR UPDATE NOWAIT",
                [connection.id],
            )
    except psycopg2.errors.LockNotAvailable as error:
        raise UserError(
            connection.env._(
                "Another run of the connection %s is starting right now; try again when it "
                "has finished.",
                connection.display_name,
            )
        ) from error
