"""A migration run: one pass that reads Cliniko and writes Odoo, with its counters and log.

The work itself is done by ``migration.runner.MigrationRunner``; this model is what the admin
sees: the state, when it started and ended, per-resource counters and progress, the waits
and errors, and the audit lines it wrote.

Started from the web client, a run is never worked on inside the web request: it is queued
(``queued``) and the scheduled job ``_cron_process_runs`` works on it in batches of pages,
each page committed with its counters and its resource's cursor, so the run survives worker
time limits and restarts and resumes where it stopped. Elsewhere (the command line, scripts,
tests) ``action_start`` runs it to its end in the process, as does the context key
``cliniko_run_now``; ``cliniko_background`` queues it.

States: draft -> queued -> running -> done | failed; running -> blocked (practitioner
decisions needed; Start again) | paused (Resume re-queues) | cancelled (stops for good; what
was written stays and can be rolled back); done/failed/cancelled/... -> rolled_back.
"""

import logging
import threading
import time

from odoo import SUPERUSER_ID, api, fields, models
from odoo.addons.base.models.ir_cron import IrCron
from odoo.exceptions import UserError
from odoo.http import request
from odoo.modules.registry import Registry

from ..migration import graph
from ..migration.locks import (
    hold_shared_worker_lock,
    hold_worker_lock,
    let_go_shared_worker_lock,
    let_go_worker_lock,
    worker_alive,
)
from ..migration.rollback import RunRollback
from ..migration.runner import MigrationRunner

STATES = [
    ("draft", "Draft"),
    ("queued", "Queued"),
    ("running", "Running"),
    ("blocked", "Needs Decisions"),
    ("paused", "Paused"),
    ("done", "Done"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
    ("rolled_back", "Rolled Back"),
]
# What became of each record a run read: fetched = created + updated + unchanged + skipped +
# failed (``migration/importer.py`` says which outcome each record had).
COUNTERS = ("fetched", "created", "updated", "unchanged", "skipped", "failed")
LOG_MAX_LINES = 300
_DROPPED_LINE = "(%d earlier lines not shown)"
BATCH_PAGES_PARAM = "cliniko_crm_migration.batch_pages"
# How many scheduled jobs work on background runs at once (``_cliniko_set_workers``).
WORKERS_PARAM = "cliniko_crm_migration.workers"
# Background runs a worker may work on: queued, or running (between batches, or interrupted).
BACKGROUND_WAITING = [("background", "=", True), ("state", "in", ("queued", "running"))]
WORKER_CRON_NAME = "Cliniko Migration: work on queued runs"

_logger = logging.getLogger(__name__)
DEFAULT_BATCH_PAGES = 20


class ClinikoMigrationRun(models.Model):
    _name = "cliniko.migration.run"
    # The chatter says what happened to the run, as internal notes (``_cliniko_post``); no field
    # is tracked, so a state change is said once, in words, and never twice.
    _inherit = ["mail.thread", "mail.activity.mixin"]
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
    started_by_id = fields.Many2one(
        "res.users",
        readonly=True,
        copy=False,
        help="Who started the run: they get an activity when it needs them (decisions to take, "
        "a failure).",
    )
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
    # One row per line (``cliniko.migration.run.log.line``): each worker of a run adds its own
    # rows, so two workers writing to the log at once never write the same row.
    log_line_ids = fields.One2many("cliniko.migration.run.log.line", "run_id", readonly=True)
    log = fields.Text(
        compute="_compute_log",
        help="What the run met on its way, oldest first: waits for Cliniko's rate limit, retries "
        "after server errors or dropped connections, lists it went on without, batches. Repeated "
        "waits share a line; only the last %d lines are shown." % LOG_MAX_LINES,
    )
    error_message = fields.Text(readonly=True, copy=False)
    clinic_country_code = fields.Char(
        readonly=True,
        copy=False,
        help="The clinic's country as read from its first business location (when the "
        "connection names none), kept so a resumed run does not read it again.",
    )
    background = fields.Boolean(
        readonly=True,
        copy=False,
        help="Worked on by the scheduler in batches (started from the web client).",
    )
    progress = fields.Float(
        string="Overall Progress",
        compute="_compute_progress",
        help="Share of the run's resources read, in percent.",
    )
    rollback_kept_ids = fields.One2many(
        "cliniko.audit.log",
        "run_id",
        string="Kept at Rollback",
        domain=[
            ("is_rollback", "=", True),
            ("action", "=", "skip"),
            ("message", "=like", "rollback: kept%"),
        ],
        readonly=True,
        help="Records the rollback kept because a person changed them after the run.",
    )
    rollback_kept_count = fields.Integer(compute="_compute_rollback_kept_count")
    warning_message = fields.Text(
        string="Warnings",
        compute="_compute_warning_message",
        help="What the run went on without, e.g. a list the key's Cliniko user may not read.",
    )

    @api.depends("connection_id", "run_type")
    def _compute_display_name(self):
        types = dict(self._fields["run_type"].selection)
        for run in self:
            run.display_name = "%s #%s (%s)" % (
                run.connection_id.name or "",
                run.id or "",
                types.get(run.run_type, ""),
            )

    @api.depends("state", "resource_ids.progress", "resources")
    def _compute_progress(self):
        for run in self:
            if run.state == "done":
                run.progress = 100.0
                continue
            names = [resource.name for resource in graph.load_order(run._selected_resources())]
            lines = run.resource_ids.filtered(lambda line, names=names: line.resource in names)
            run.progress = sum(lines.mapped("progress")) / len(names) if names else 0.0

    def _compute_rollback_kept_count(self):
        for run in self:
            run.rollback_kept_count = len(run.rollback_kept_ids)

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

    @api.depends("log_line_ids.text")
    def _compute_log(self):
        for run in self:
            lines = run.log_line_ids.sorted("id").mapped("text")
            if len(lines) > LOG_MAX_LINES:
                lines = [_DROPPED_LINE % (len(lines) - LOG_MAX_LINES)] + lines[-LOG_MAX_LINES:]
            run.log = "\n".join(lines) + "\n" if lines else False

    def _log(self, line, replaces=None):
        """Add ``line`` to the run's log, stamped, and return the stamped line. ``replaces``:
        the stamped line it stands for, when that is the run's last line (a repeated wait says
        how many in one line). The log shows the last ``LOG_MAX_LINES`` lines; its first line
        then says how many it leaves out."""
        self.ensure_one()
        stamp = fields.Datetime.to_string(fields.Datetime.now())
        text = "%s %s" % (stamp, " ".join(str(line).split()))
        Line = self.env["cliniko.migration.run.log.line"].sudo()
        if replaces is not None:
            last = Line.search([("run_id", "=", self.id)], order="id desc", limit=1)
            if last and last.text == replaces:
                last.text = text
                return text
        Line.create({"run_id": self.id, "text": text})
        return text

    # The checks a run passes before it moves any record, in this order; each raises a
    # UserError saying why not. They live beside what they check (the files named), but their
    # order is said here once, not by the order the model files are imported in.
    START_CHECKS = (
        "_cliniko_check_state",  # here
        "_cliniko_check_connection_free",  # cliniko_migration_run_delta.py: takes the lock
        "_cliniko_check_field_map",  # cliniko_migration_run_map.py
        "_cliniko_check_practitioners_decided",  # cliniko_migration_run_practitioners_ui.py
        "_cliniko_check_export_files",  # cliniko_export.py: Data Export runs only
    )

    def _cliniko_check_startable(self):
        """Raise a UserError saying why this run may not move any record yet: the first
        of ``START_CHECKS`` that fails."""
        self.ensure_one()
        for check in self.START_CHECKS:
            getattr(self, check)()

    def _cliniko_check_state(self):
        if self.state not in ("draft", "blocked") and not self._cliniko_is_interrupted():
            raise UserError(self.env._("Only a draft or paused run can be started."))

    def _cliniko_is_interrupted(self):
        """A run worked on in a process (not by the scheduler) whose process ended in the
        middle (killed, crashed, the machine restarted): it says running, but no process
        holds its worker lock. It resumes from its committed cursors when started again."""
        self.ensure_one()
        return (
            self.state == "running"
            and not self.background
            and not worker_alive(self.env.cr, self.id)
        )

    # -- actions -----------------------------------------------------------------------------
    def action_start(self):
        """Start the run: queued for the scheduler from the web client (or with the context
        key ``cliniko_background``), else run to its end here (``cliniko_run_now``)."""
        for run in self:
            run._cliniko_check_startable()
            if self.env.uid != SUPERUSER_ID:
                run.started_by_id = self.env.user  # asked when the run needs someone
            if run._cliniko_runs_here():
                run._cliniko_execute_now()
            else:
                run._cliniko_queue()
        return True

    def _cliniko_runs_here(self):
        """Never inside a web request: a run may take hours, a request has seconds."""
        if request:
            return False
        context = self.env.context
        return bool(context.get("cliniko_run_now") or not context.get("cliniko_background"))

    def _cliniko_execute_now(self):
        """Run (or carry on) to the end in this process: the command line's path."""
        for run in self:
            run._cliniko_runner().execute()
            run._cliniko_on_finished()
        return True

    def _cliniko_runner(self, **options):
        """The runner that carries this run out (another kind of run may use another)."""
        self.ensure_one()
        return MigrationRunner(self, **options)

    def _cliniko_queue(self):
        for run in self:
            run.write({"state": "queued", "background": True, "error_message": False})
            run._log("Queued: the scheduler works on it in batches")
        self._cliniko_wake_workers()

    def _cliniko_on_finished(self):
        """Called once a run stops working (done, failed, blocked, paused, cancelled), in the
        process or in the background; a hook for what follows a finished run."""

    def action_pause(self):
        """Stop after the current page; Resume carries on from there."""
        for run in self:
            if run.state not in ("queued", "running"):
                raise UserError(self.env._("Only a queued or running run can be paused."))
            run.write({"state": "paused"})
            run._log("Paused: the run stops after its current page")
            run._cliniko_note_event(
                "paused",
                self.env._(
                    "Paused by %s; Resume carries it on from where it stopped.", self.env.user.name
                ),
            )
        return True

    def action_resume(self):
        """Carry a paused run on from where it stopped (queued again, or here)."""
        for run in self:
            if run.state != "paused":
                raise UserError(self.env._("Only a paused run can be resumed."))
            if run._cliniko_runs_here():
                run._cliniko_execute_now()
            else:
                run._cliniko_queue()
        return True

    def action_cancel(self):
        """Stop for good; what the run wrote stays and can be rolled back."""
        for run in self:
            if run.state not in ("queued", "running", "paused", "blocked"):
                raise UserError(
                    self.env._("Only a queued, running, paused or waiting run can be cancelled.")
                )
            run.write({"state": "cancelled", "finished_at": fields.Datetime.now()})
            run._log("Cancelled: what the run wrote stays (it can be rolled back)")
            run._cliniko_note_event("cancelled", self.env._("Cancelled by %s.", self.env.user.name))
        return True

    def action_refresh(self):
        """The form's Refresh button: the client reloads the record after any button."""
        return True

    def _cliniko_check_rollbackable(self):
        self.ensure_one()
        if self.state in ("draft", "queued", "running"):
            raise UserError(
                self.env._(
                    "Only a finished, failed, paused or cancelled run can be rolled back "
                    "(pause or cancel a running run first)."
                )
            )
        if worker_alive(self.env.cr, self.id):
            raise UserError(
                self.env._(
                    "A worker is still on this run (it stops after its current page): roll it "
                    "back once it has stopped."
                )
            )

    def action_rollback(self):
        """Roll back at once (the command line; the form asks first through the wizard).
        The rollback holds the run's worker lock, so no worker can pick the run up meanwhile."""
        for run in self:
            run._cliniko_rollback_now()
        return True

    def _cliniko_rollback_now(self, progress=None):
        """Roll this run back here, under its worker lock; ``progress(percent, step)`` is told
        as it goes (``migration/rollback.py``)."""
        self.ensure_one()
        self._cliniko_check_rollbackable()
        runner = MigrationRunner(self)
        if not runner._take_worker_lock():
            raise UserError(self.env._("A worker took this run up: try again later."))
        try:
            RunRollback(runner, progress=progress).rollback()
        finally:
            runner._release_worker_lock()

    def action_open_rollback_wizard(self):
        self.ensure_one()
        self._cliniko_check_rollbackable()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Roll Back Run"),
            "res_model": "cliniko.rollback.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_run_id": self.id},
        }

    def action_view_rollback_kept(self):
        self.ensure_one()
        action = self.action_view_audit()
        action["domain"] = [("id", "in", self.rollback_kept_ids.ids)]
        return action

    # -- the scheduled job -------------------------------------------------------------------
    @api.model
    def _cron_process_runs(self):
        """One batch of the oldest background run waiting (queued, or running: stopped by a
        time limit or a restart). The batch reads at most ``batch_pages`` pages (context key
        ``cliniko_batch_pages``, else the system parameter ``cliniko_crm_migration.batch_pages``)
        and stops earlier when the job's time is up; every page is committed through
        ``ir.cron._commit_progress``, which tells the scheduler how much is left, so it calls
        again at once while work remains. Returns True when the run stopped (for now)."""
        pages = self.env.context.get("cliniko_batch_pages") or self.env[
            "ir.config_parameter"
        ].sudo().get_param(BATCH_PAGES_PARAM, DEFAULT_BATCH_PAGES)
        pages = max(1, int(pages))
        finished, worked = True, False
        for run in self._cliniko_background_waiting():
            runner = run._cliniko_runner(max_pages=pages)
            if runner.shares_work and run.run_type == "full":
                outcome = run._cliniko_work_a_unit(runner)
                if outcome is None:
                    continue  # nothing for this worker in this run now: the next run
                finished, worked = outcome, True
                break
            if not runner._take_worker_lock():
                continue  # another worker is on it
            try:
                if run.state == "queued":
                    runner.start()
                finished, worked = runner.work(), True
            finally:
                runner._release_worker_lock()
            if finished:
                run._cliniko_on_finished()
            break
        if self.env.context.get("ir_cron_progress_id"):
            # Nothing this worker could take: it rests until a finished unit or a new run
            # wakes it (``_cliniko_wake_workers``), rather than being called again at once.
            remaining = self.search_count(BACKGROUND_WAITING) if worked else 0
            self.env["ir.cron"]._commit_progress(remaining=remaining)
        return finished

    def _cliniko_work_a_unit(self, runner):
        """One batch of one work unit of this full run, as one of its workers (see
        ``migration/units.py``): True when the unit (or the run) stopped for now, False when
        it needs another batch, None when this worker found nothing to take."""
        self.ensure_one()
        cr = self.env.cr
        if self.state == "queued":
            # Starting is one worker's: the field map, the sample, every unit's counter line.
            if not hold_worker_lock(cr, self.id):
                return None
            try:
                self.invalidate_recordset(["state"])
                if self.state == "queued":  # not started meanwhile by another worker
                    runner.start()
                    runner.work(unit=())
            finally:
                let_go_worker_lock(cr, self.id)
            if self.state != "running":
                self._cliniko_on_finished()  # refused before any record moved
                return True
            self._cliniko_wake_workers()
        if not hold_shared_worker_lock(cr, self.id):
            return None  # a rollback or a starting worker holds it alone
        unit = None
        try:
            unit = runner.claim_unit()
            if unit is not None:
                try:
                    finished = runner.work(unit=unit)
                finally:
                    runner.release_unit(unit)
        finally:
            let_go_shared_worker_lock(cr, self.id)
        if runner.finish_if_complete():
            self._cliniko_on_finished()
        elif unit is not None and finished:
            if self.state == "running":
                self._cliniko_wake_workers()  # units that waited for this one may be ready
            else:
                self._cliniko_on_finished()  # blocked, failed, paused or cancelled
        if unit is None:
            return None
        return finished

    @api.model
    def _cliniko_work_here(self, threads):
        """Be the scheduler of this database's workers in this process until no background
        run or job waits: Odoo's own loop (``ir.cron._process_jobs_loop``, which takes each
        ready worker job with SKIP LOCKED and runs it as a server's cron thread does), in
        ``threads`` threads with a connection each. Only the workers' jobs: this is not a
        server, the database's other jobs are left to it. Returns the threads' errors."""
        dbname = self.env.cr.dbname
        workers = self._cliniko_worker_crons().filtered("active")
        errors = []

        def scheduler():
            try:
                while True:
                    with Registry(dbname).cursor() as cr:
                        IrCron._process_jobs_loop(cr, job_ids=workers.ids)
                        Run = api.Environment(cr, SUPERUSER_ID, {})[self._name]
                        waiting = Run.search_count(BACKGROUND_WAITING)
                        if not waiting and not Run._cliniko_waiting_jobs():
                            return
                    time.sleep(0.2)
            except Exception as error:  # noqa: BLE001 - reported to the caller
                _logger.exception("Cliniko: a scheduler thread failed")
                errors.append("%s: %s" % (error.__class__.__name__, error))

        pool = [
            threading.Thread(target=scheduler, name="cliniko-worker-%d" % (number + 1))
            for number in range(max(1, int(threads)))
        ]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        return errors

    @api.model
    def _cliniko_background_waiting(self):
        """The background runs the workers still have to work on, oldest first."""
        return self.search(BACKGROUND_WAITING, order="id")

    def _cliniko_worker_crons(self):
        """The scheduled jobs that work on background runs (one per worker)."""
        return (
            self.env["ir.cron"]
            .sudo()
            .with_context(active_test=False)
            .search([("cron_name", "=like", WORKER_CRON_NAME + "%")], order="id")
        )

    def _cliniko_wake_workers(self):
        """Ask every worker to look for work now (Odoo's cron triggers)."""
        for cron in self._cliniko_worker_crons().filtered("active"):
            cron._trigger()

    @api.model
    def _cliniko_set_workers(self, count):
        """Have ``count`` workers (scheduled jobs) for background runs; Odoo runs as many at
        once as it has cron threads (``--max-cron-threads``), on one server or several."""
        count = max(1, int(count))
        crons = self._cliniko_worker_crons()
        first = self.env.ref("cliniko_crm_migration.ir_cron_cliniko_process_runs")
        others = crons - first
        for number in range(len(others) + 2, count + 1):
            others |= first.copy({"name": "%s (worker %d)" % (WORKER_CRON_NAME, number)})
        ordered = first | others.sorted("id")
        for index, cron in enumerate(ordered):
            if cron.active != (index < count):
                cron.active = index < count
        self.env["ir.config_parameter"].sudo().set_param(WORKERS_PARAM, str(count))
        return ordered[:count]

    def cliniko_rollback_summary(self):
        """The rollback as the headless command reports it (JSON-serialisable)."""
        self.ensure_one()
        lines = (
            self.env["cliniko.audit.log"]
            .sudo()
            .search([("run_id", "=", self.id), ("is_rollback", "=", True)])
        )
        archived = lines.filtered(
            lambda line: (
                line.action == "update" and (line.message or "").startswith("rollback: archived")
            )
        )
        return {
            "run_id": self.id,
            "state": self.state,
            "removed": len(lines.filtered(lambda line: line.action == "delete")),
            "restored": len(lines.filtered(lambda line: line.action == "update") - archived),
            "archived": len(archived),
            "failed": len(lines.filtered(lambda line: line.action == "fail")),
            "kept": [
                {
                    "model": line.res_model,
                    "id": line.res_id,
                    "reason": (line.message or "").removeprefix("rollback: kept, "),
                }
                for line in self.rollback_kept_ids.sorted("id")
            ],
        }

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
        resources = {}
        for line in self.resource_ids.sorted("sequence"):
            resources[line.resource] = {name: line[name] for name in COUNTERS}
            if line.unavailable:
                resources[line.resource]["unavailable"] = line.unavailable
        return {
            "run_id": self.id,
            "state": self.state,
            "progress": round(self.progress, 1),
            "resources": resources,
            "warnings": self._cliniko_warnings(),
            "error": self.error_message or None,
        }

    def _cliniko_warnings(self):
        """What the run could not do that did not fail it: resources Cliniko refused."""
        self.ensure_one()
        return [
            "%s not available: %s" % (line.label, line.unavailable)
            for line in self.resource_ids.sorted("sequence")
            if line.unavailable
        ]

    @api.depends("resource_ids.unavailable")
    def _compute_warning_message(self):
        for run in self:
            run.warning_message = "\n".join(run._cliniko_warnings()) or False


class ClinikoMigrationRunLogLine(models.Model):
    _name = "cliniko.migration.run.log.line"
    _description = "Cliniko Migration Run Log Line"
    _order = "id"

    run_id = fields.Many2one("cliniko.migration.run", required=True, ondelete="cascade", index=True)
    text = fields.Char(required=True)


class ClinikoMigrationRunResource(models.Model):
    _name = "cliniko.migration.run.resource"
    _description = "Cliniko Migration Run Counters"
    _order = "sequence, id"

    run_id = fields.Many2one("cliniko.migration.run", required=True, ondelete="cascade", index=True)
    resource = fields.Char(required=True)
    label = fields.Char(compute="_compute_label")
    sequence = fields.Integer()
    # Each record read counts once in fetched and once in one of the five outcomes after it:
    # fetched = created + updated + unchanged + skipped + failed (see migration/importer.py).
    fetched = fields.Integer(
        help="Records read from Cliniko for this resource (in a sample run: those of the "
        "sample's patients). Each is counted once more, in exactly one of Created, Updated, "
        "Unchanged, Skipped and Failed."
    )
    created = fields.Integer(help="New in Odoo: records this run created.")
    updated = fields.Integer(
        help="Records an earlier run migrated that changed in Cliniko since, written again. "
        "The audit log's Update lines also record what a new record changed on another (an "
        "invoice setting its appointment's expected revenue, a note or an alert on the "
        "patient's lead), so they can outnumber this."
    )
    unchanged = fields.Integer(
        help="Records an earlier run migrated that are the same in Cliniko since: nothing "
        "written (the audit log marks them unchanged)."
    )
    skipped = fields.Integer(
        help="Records left out on purpose, each with its reason (deleted in Cliniko, merged "
        "into another patient, an attendee migrated with its individual appointment, a form "
        "never completed...): see Why Records Were Skipped or Failed."
    )
    failed = fields.Integer(
        help="Records that could not be migrated, each with its reason (e.g. its patient was "
        "not migrated, Cliniko sent a malformed value); the rest of the run went on."
    )
    done = fields.Boolean(help="Every page of this resource was migrated.")
    unavailable = fields.Char(
        help="Cliniko refused this list (403: the key's user lacks the permission; 404: the "
        "account does not have it), in Cliniko's words. The run went on without it."
    )
    # Progress and resuming
    total = fields.Integer(
        help="What Cliniko said it holds (total_entries of the lists this resource reads, "
        "summed); empty until Cliniko said it (never counted by the run)."
    )
    list_totals = fields.Json(help="total_entries per Cliniko list read ({path: n}).")
    started_at = fields.Datetime()
    seconds = fields.Float(help="Time spent on its pages (waits between batches excluded).")
    pages_done = fields.Integer(help="Pages imported and committed.")
    cursor = fields.Char(help="Cliniko's URL of the next page to read (links.next).")
    last_page_read = fields.Boolean()
    worker = fields.Char(
        readonly=True, help="The worker that last took this resource (host:process/thread)."
    )
    progress = fields.Float(compute="_compute_progress", help="In percent.")
    rate = fields.Float(compute="_compute_progress", string="Records/s", digits=(16, 1))
    time_left = fields.Char(compute="_compute_progress")

    _run_resource_unique = models.Constraint(
        "UNIQUE(run_id, resource)", "One counter line per resource and run."
    )

    @api.depends("fetched", "total", "done", "seconds")
    def _compute_progress(self):
        for line in self:
            if line.done:
                line.progress = 100.0
            elif line.total:
                line.progress = min(99.9, 100.0 * line.fetched / line.total)
            else:
                line.progress = 0.0
            line.rate = line.fetched / line.seconds if line.seconds > 0 else 0.0
            left = max(line.total - line.fetched, 0)
            if line.done or not left or not line.rate:
                line.time_left = False
            else:
                line.time_left = _duration(left / line.rate)

    @api.depends("resource")
    def _compute_label(self):
        for line in self:
            try:
                line.label = graph.get(line.resource).label
            except KeyError:
                line.label = line.resource


def _duration(seconds):
    """``1 h 05 min``, ``3 min 20 s``, ``45 s``."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return "%d h %02d min" % (hours, minutes)
    if minutes:
        return "%d min %02d s" % (minutes, seconds)
    return "%d s" % seconds
