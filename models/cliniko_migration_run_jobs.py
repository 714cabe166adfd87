"""Heavy actions on a finished run, queued like runs: Verify and Roll Back; live progress.

*Verify* re-reads Cliniko (every count, every migrated record) and *Roll Back* undoes a whole
run: either may take longer than a web request may. From the web client (or with the context
key ``cliniko_background``) each becomes the run's *job* (``job_kind``, ``job_state``): the
scheduled job ``_cron_process_runs`` that works on background runs picks it up, holding the
run's worker lock (``migration/locks.py``) while it works, so no worker takes the run up
meanwhile. Elsewhere (the command line, scripts, tests) ``action_verify`` and
``action_rollback`` still do the work at once, as ``action_start`` does with
``cliniko_run_now``. (*Final Sync* is a delta run: it is queued as runs are, see
``cliniko_connection_delta.py``.)

A job that fails records its reason (``job_error``) and leaves the run as it was; a job whose
worker died (a time limit, a restart) is taken up again, at most ``JOB_ATTEMPTS`` times.

Job progress (``job_progress``, 0-100, and ``job_step``, e.g. "Comparing patients (14 of 33)"):
the verification and the rollback tell it through a callback as each step begins
(``migration/verify.py``, ``migration/rollback.py``). It is kept apart from the run, in
``cliniko.migration.job.progress``, and written in a cursor of its own committed at once, with
a bus notification: other sessions see it while the job works, yet the job's own transaction is
not committed midway (a rollback stays all or nothing, a failed verification leaves the run as
it was), and the job never writes a row another transaction changed under it (the run's, which
the job writes, is not touched; Odoo's transactions are REPEATABLE READ). In tests it is written
in the test's transaction, never committed. A failed job keeps the progress where it stopped.

Live progress: after each committed page, and when a job or a run changes state, the run sends
a bus notification (``cliniko_run_progress``) on its own channel; only users who may read the
run may subscribe to it (``ir.websocket._build_bus_channel_list``, in this file). The run form's
``cliniko_run_live`` widget (``static/src/run_live``) reloads the record when one arrives.
"""

import logging
import re

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..migration.locks import worker_alive
from ..migration.runner import MigrationRunner, in_test_mode
from .cliniko_migration_run import BACKGROUND_WAITING

_logger = logging.getLogger(__name__)

JOB_KINDS = [("verify", "Verification"), ("rollback", "Rollback")]
JOB_STATES = [
    ("queued", "Queued"),
    ("running", "Running"),
    ("done", "Done"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
]
JOB_ATTEMPTS = 3
PROGRESS_NOTIFICATION = "cliniko_run_progress"
RUN_CHANNEL = re.compile(r"^cliniko\.migration\.run_(\d+)$")


class ClinikoMigrationRun(models.Model):
    _name = "cliniko.migration.run"
    _inherit = ["cliniko.migration.run", "bus.listener.mixin"]

    job_kind = fields.Selection(
        JOB_KINDS,
        string="Background Job",
        readonly=True,
        copy=False,
        help="The heavy action last asked of this run from the web client.",
    )
    job_state = fields.Selection(JOB_STATES, readonly=True, copy=False)
    job_error = fields.Text(string="Job Failure", readonly=True, copy=False)
    job_queued_at = fields.Datetime(readonly=True, copy=False)
    job_started_at = fields.Datetime(readonly=True, copy=False)
    job_finished_at = fields.Datetime(readonly=True, copy=False)
    job_user_id = fields.Many2one(
        "res.users", string="Asked By", readonly=True, copy=False, ondelete="set null"
    )
    job_attempts = fields.Integer(readonly=True, copy=False)
    job_progress_ids = fields.One2many("cliniko.migration.job.progress", "run_id", readonly=True)
    job_progress = fields.Float(
        related="job_progress_ids.progress",
        string="Job Progress",
        help="How far the verification or rollback is, in percent.",
    )
    job_step = fields.Char(related="job_progress_ids.step", string="Job Step")

    def _cliniko_job_pending(self):
        self.ensure_one()
        return self.job_state in ("queued", "running")

    def _cliniko_check_no_job(self):
        """Refuse anything else while a verification or a rollback waits or works (but the
        job itself)."""
        if self.env.context.get("cliniko_in_job"):
            return
        for run in self:
            if run._cliniko_job_pending():
                kinds = dict(JOB_KINDS)
                raise UserError(
                    self.env._(
                        "The %(job)s of this run is %(state)s: wait until it has finished.",
                        job=kinds[run.job_kind].lower(),
                        state=dict(JOB_STATES)[run.job_state].lower(),
                    )
                )

    # -- the web client's paths: queued ------------------------------------------------------
    def _cliniko_check_state(self):
        result = super()._cliniko_check_state()
        self._cliniko_check_no_job()
        return result

    def action_resume(self):
        self._cliniko_check_no_job()
        return super().action_resume()

    def _cliniko_check_rollbackable(self):
        result = super()._cliniko_check_rollbackable()
        self._cliniko_check_no_job()
        return result

    def action_verify(self):
        """Verify: at once in the process (CLI, tests), queued from the web client."""
        for run in self:
            if run._cliniko_runs_here():
                run.cliniko_verify()
            else:
                run._cliniko_check_verifiable()
                run._cliniko_queue_job("verify")
        return True

    def _cliniko_check_verifiable(self):
        self.ensure_one()
        self._cliniko_check_no_job()
        if self.state in ("draft", "queued", "running"):
            raise UserError(self.env._("Only a finished run can be verified."))

    def action_rollback(self):
        """Roll back: at once in the process (CLI, tests), queued from the web client (the
        form asks first, through the rollback dialog)."""
        background = self.filtered(lambda run: not run._cliniko_runs_here())
        for run in background:
            run._cliniko_check_rollbackable()
            run._cliniko_queue_job("rollback")
        if self - background:
            super(ClinikoMigrationRun, self - background).action_rollback()
        return True

    def _cliniko_queue_job(self, kind):
        self.ensure_one()
        self.write(
            {
                "job_kind": kind,
                "job_state": "queued",
                "job_error": False,
                "job_queued_at": fields.Datetime.now(),
                "job_started_at": False,
                "job_finished_at": False,
                "job_user_id": self.env.user.id,
                "job_attempts": 0,
            }
        )
        self._cliniko_job_store(0.0, "Waiting for the scheduler")
        self._log("%s queued: the scheduler carries it out" % dict(JOB_KINDS)[kind])
        self._cliniko_notify_progress((0.0, "Waiting for the scheduler"))
        self.env.ref("cliniko_crm_migration.ir_cron_cliniko_process_runs")._trigger()

    def action_cancel_job(self):
        """Withdraw a job the scheduler has not taken up yet."""
        for run in self:
            if run.job_state != "queued":
                raise UserError(self.env._("Only a job still waiting can be withdrawn."))
            run.write({"job_state": "cancelled", "job_finished_at": fields.Datetime.now()})
            run._log("%s withdrawn before it started" % dict(JOB_KINDS)[run.job_kind])
            run._cliniko_notify_progress()
        return True

    # -- the scheduled job -------------------------------------------------------------------
    @api.model
    def _cliniko_waiting_jobs(self):
        return self.search([("job_state", "in", ("queued", "running"))], order="job_queued_at, id")

    @api.model
    def _cron_process_runs(self):
        """A job waiting (a verification or a rollback) comes first: one per call, each done
        whole; else a batch of the oldest background run, as before."""
        for job in self._cliniko_waiting_jobs():
            if job.job_state == "running" and worker_alive(self.env.cr, job.id):
                continue  # another worker is on it
            job._cliniko_work_job()
            if self.env.context.get("ir_cron_progress_id"):
                remaining = len(self._cliniko_waiting_jobs()) + self.search_count(
                    BACKGROUND_WAITING
                )
                self.env["ir.cron"]._commit_progress(1, remaining=remaining)
            return True
        return super()._cron_process_runs()

    def _cliniko_work_job(self):
        """Carry out this run's job here. A failure is recorded with its reason; the run
        itself stays as it was. The work holds the run's worker lock (the rollback takes it
        itself), so a job whose worker died says running while nobody holds the lock."""
        self.ensure_one()
        label = dict(JOB_KINDS)[self.job_kind]
        if self.job_attempts >= JOB_ATTEMPTS:
            # started that often and never finished: its worker keeps dying (time limit?)
            return self._cliniko_job_failed(
                "Interrupted %s times before it finished (a worker time limit or a restart?): "
                "run it from the command line instead." % self.job_attempts
            )
        self.write(
            {
                "job_state": "running",
                "job_started_at": fields.Datetime.now(),
                "job_attempts": self.job_attempts + 1,
                "job_error": False,
            }
        )
        told = [0.0, "Starting"]  # the last (percent, step) the job told
        self._cliniko_job_store(*told)
        self._log("%s started by the scheduler" % label)
        self._cliniko_job_commit(told)
        # the job's own commits (the rollback's) are plain commits, not the cron's progress
        run = self.with_context(
            ir_cron_progress_id=False, cliniko_run_now=True, cliniko_in_job=True
        )
        if self.job_user_id.active:
            # as the admin who asked, as the form did it before: the audit says who
            run = run.with_user(self.job_user_id)

        def progress(percent, step):
            told[:] = [round(max(0.0, min(100.0, percent)), 1), step]
            self._cliniko_job_report(*told)

        try:
            if in_test_mode():
                with self.env.cr.savepoint():
                    run._cliniko_do_job(progress)
            else:
                run._cliniko_do_job(progress)
        except Exception as error:  # noqa: BLE001 - the job fails, the run is not stuck
            if isinstance(error, UserError):  # in plain words already: no traceback
                reason = error.args[0] if error.args else str(error)
                _logger.info("Cliniko %s of run %s failed: %s", self.job_kind, self.id, reason)
            else:
                reason = "%s: %s" % (error.__class__.__name__, error)
                _logger.exception("Cliniko %s of run %s failed", self.job_kind, self.id)
            if not in_test_mode():
                self.env.cr.rollback()
            self.env.invalidate_all(flush=False)
            # where it stopped (a test's savepoint took it back with the rest)
            self._cliniko_job_store(*told)
            return self._cliniko_job_failed(reason, told)
        if told[0] < 100:
            self._cliniko_job_report(100.0, "Done")
        self.write({"job_state": "done", "job_finished_at": fields.Datetime.now()})
        self._log("%s done" % label)
        self._cliniko_job_commit()
        return True

    def _cliniko_do_job(self, progress=None):
        self.ensure_one()
        if self.job_kind == "rollback":
            # takes the run's worker lock itself
            return self._cliniko_rollback_now(progress=progress)
        if self.job_kind != "verify":
            raise UserError(self.env._("Unknown job %s.", self.job_kind))
        runner = MigrationRunner(self)
        if not runner._take_worker_lock():
            raise UserError(self.env._("A worker took this run up: verify it again later."))
        try:
            return self.cliniko_verify(progress=progress)
        finally:
            runner._release_worker_lock()

    def _cliniko_job_failed(self, reason, told=None):
        self.write(
            {"job_state": "failed", "job_error": reason, "job_finished_at": fields.Datetime.now()}
        )
        self._log("%s failed: %s" % (dict(JOB_KINDS)[self.job_kind], reason))
        self._cliniko_job_commit(told)
        return False

    def _cliniko_job_store(self, percent, step):
        """Write the job's progress in this transaction (one row per run)."""
        self.ensure_one()
        values = {"progress": round(max(0.0, min(100.0, percent)), 1), "step": step or False}
        Progress = self.env["cliniko.migration.job.progress"].sudo()
        row = Progress.search([("run_id", "=", self.id)], limit=1)
        if row:
            row.write(values)
        else:
            Progress.create(dict(values, run_id=self.id))

    def _cliniko_job_report(self, percent, step):
        """Tell how far the job is, to the open forms as well: in a transaction of its own,
        committed at once (in tests, in the test's transaction). The job goes on if this
        fails (a lock held too long, say): progress is never worth a failed job."""
        self.ensure_one()
        if in_test_mode():
            self._cliniko_job_store(percent, step)
            self._cliniko_notify_progress((percent, step))
            return
        try:
            with self.env.registry.cursor() as cr:
                cr.execute("SET LOCAL lock_timeout = '5s'")
                run = self.with_env(self.env(cr=cr))
                run._cliniko_job_store(percent, step)
                run._cliniko_notify_progress((percent, step))
        except Exception:  # noqa: BLE001 - the job matters, its progress bar less
            _logger.warning(
                "Cliniko %s of run %s: progress not stored", self.job_kind, self.id, exc_info=True
            )

    def _cliniko_job_commit(self, told=None):
        self._cliniko_notify_progress(told)
        self.env.flush_all()
        if not in_test_mode():
            self.env.cr.commit()

    # -- live progress -----------------------------------------------------------------------
    def _cliniko_notify_progress(self, job_progress=None):
        """Tell the forms open on these runs that they changed (sent when the transaction
        commits; only to users who may read the run). ``job_progress``: the ``(percent,
        step)`` the job told, said with it (the job's own transaction may not see the
        progress committed apart since it began; the form reloads it anyway)."""
        for run in self:
            payload = {"run_id": run.id, "state": run.state, "job_state": run.job_state or False}
            if job_progress:
                payload.update(job_progress=job_progress[0], job_step=job_progress[1] or False)
            run._bus_send(PROGRESS_NOTIFICATION, payload)

    def _cliniko_queue(self):
        result = super()._cliniko_queue()
        self._cliniko_notify_progress()
        return result

    def _cliniko_on_finished(self):
        result = super()._cliniko_on_finished()
        self._cliniko_notify_progress()
        return result

    def action_pause(self):
        result = super().action_pause()
        self._cliniko_notify_progress()
        return result

    def action_cancel(self):
        result = super().action_cancel()
        self._cliniko_notify_progress()
        return result


class ClinikoMigrationJobProgress(models.Model):
    """How far the background job (verification, rollback) of a run is. Apart from the run so
    that it can be committed while the job's transaction is still open."""

    _name = "cliniko.migration.job.progress"
    _description = "Cliniko Run Job Progress"

    run_id = fields.Many2one(
        "cliniko.migration.run", required=True, ondelete="cascade", index=True, readonly=True
    )
    progress = fields.Float(readonly=True, help="In percent.")
    step = fields.Char(readonly=True)

    _run_unique = models.Constraint("UNIQUE(run_id)", "A run has one job progress.")


class IrWebsocket(models.AbstractModel):
    _inherit = "ir.websocket"

    def _build_bus_channel_list(self, channels):
        """``cliniko.migration.run_<id>``: the run's own channel, for users who may read it
        (access rights and the company rules); asked for any other run, nothing."""
        runs = self._cliniko_run_channels(channels)
        channels = [
            channel
            for channel in channels
            if not (isinstance(channel, str) and RUN_CHANNEL.match(channel))
        ]
        return super()._build_bus_channel_list([*channels, *runs])

    def _cliniko_run_channels(self, channels):
        """The runs named by ``cliniko.migration.run_<id>`` channels that this user may read."""
        ids = [
            int(match.group(1))
            for channel in channels
            if isinstance(channel, str) and (match := RUN_CHANNEL.match(channel))
        ]
        runs = self.env["cliniko.migration.run"].browse(ids).exists()
        if self.env.user._is_public():
            return runs.browse()
        return runs.filtered(lambda run: run.has_access("read"))
