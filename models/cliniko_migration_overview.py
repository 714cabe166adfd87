"""Where a connection's migration stands: the overview of the *Cliniko Migration* menu.

A migration is eight steps, in this order: connect, audit, practitioners, field map, sample,
full run, verify, cutover. Each is *done*, *to do* or *blocked* (a step it needs is not done),
with the counts that tell how it went (audit findings, undecided practitioners, the map's
version, the sample's mismatches, the last run's counters, open verification mismatches, the
delta schedule). The *next action* is the first step to do; its button opens the screen where
it is done (creating a draft run when the step needs one), so the overview starts nothing
heavy by itself.

What is read here is computed from the records themselves (runs, audits, maps, references):
the overview stores nothing.
"""

from odoo import api, fields, models

STEPS = [
    ("connect", "Connect"),
    ("audit", "Audit"),
    ("practitioners", "Practitioners"),
    ("map", "Field Map"),
    ("sample", "Sample"),
    ("run", "Full Run"),
    ("verify", "Verify"),
    ("cutover", "Cutover"),
]
STEP_STATES = [("done", "Done"), ("todo", "To Do"), ("blocked", "Blocked")]
# What each step needs done before it can be worked on.
REQUIRES = {
    "connect": (),
    "audit": ("connect",),
    "practitioners": ("connect",),
    "map": ("connect",),
    "sample": ("practitioners", "map"),
    "run": ("practitioners", "map"),
    "verify": ("run",),
    "cutover": ("run",),
}
# Runs that are over without leaving data behind.
GONE = ("cancelled", "rolled_back")


def _state_field(label):
    return fields.Selection(STEP_STATES, string=label, compute="_compute_overview")


def _summary_field(label):
    return fields.Char(string="%s Summary" % label, compute="_compute_overview")


class ClinikoConnection(models.Model):
    _inherit = "cliniko.connection"

    overview_connect_state = _state_field("Connect")
    overview_connect_summary = _summary_field("Connect")
    overview_audit_state = _state_field("Audit")
    overview_audit_summary = _summary_field("Audit")
    overview_practitioners_state = _state_field("Practitioners")
    overview_practitioners_summary = _summary_field("Practitioners")
    overview_map_state = _state_field("Field Map")
    overview_map_summary = _summary_field("Field Map")
    overview_sample_state = _state_field("Sample")
    overview_sample_summary = _summary_field("Sample")
    overview_run_state = _state_field("Full Run")
    overview_run_summary = _summary_field("Full Run")
    overview_verify_state = _state_field("Verify")
    overview_verify_summary = _summary_field("Verify")
    overview_cutover_state = _state_field("Cutover")
    overview_cutover_summary = _summary_field("Cutover")
    overview_next_step = fields.Selection(
        STEPS + [("finished", "Finished")],
        string="Next Step",
        compute="_compute_overview",
        help="The first step to do; Finished once Cliniko is switched off.",
    )
    overview_done_count = fields.Integer(string="Steps Done", compute="_compute_overview")

    @api.depends_context("uid")
    def _compute_overview(self):
        for connection in self:
            if not connection.id:
                for step, _label in STEPS:
                    connection["overview_%s_state" % step] = "blocked"
                    connection["overview_%s_summary" % step] = False
                connection.overview_next_step = "connect"
                connection.overview_done_count = 0
                continue
            steps = connection._cliniko_overview_steps()
            for step, (state, summary) in steps.items():
                connection["overview_%s_state" % step] = state
                connection["overview_%s_summary" % step] = summary
            connection.overview_next_step = next(
                (step for step, (state, _summary) in steps.items() if state == "todo"),
                "finished",
            )
            connection.overview_done_count = sum(
                state == "done" for state, _summary in steps.values()
            )

    # -- what each step is -------------------------------------------------------------------
    def _cliniko_overview_runs(self):
        """The connection's migration runs (full and sample, newest first) and the one being
        worked on: the newest that is not cancelled or rolled back."""
        self.ensure_one()
        runs = self.env["cliniko.migration.run"].search(
            [("connection_id", "=", self.id), ("run_type", "in", ("full", "sample"))],
            order="id desc",
        )
        live = runs.filtered(lambda run: run.state not in GONE)
        return runs, live

    def _cliniko_overview_steps(self):
        """``{step: (state, summary)}`` in the order of ``STEPS``."""
        self.ensure_one()
        runs, live = self._cliniko_overview_runs()
        working = live[:1]
        found = {
            "connect": self._cliniko_overview_connect(),
            "audit": self._cliniko_overview_audit(),
            "practitioners": self._cliniko_overview_practitioners(working),
            "map": self._cliniko_overview_map(working),
            "sample": self._cliniko_overview_sample(runs, live),
            "run": self._cliniko_overview_run(live),
            "verify": self._cliniko_overview_verify(live),
            "cutover": self._cliniko_overview_cutover(),
        }
        steps = {}
        for step, _label in STEPS:
            done, summary = found[step]
            missing = [need for need in REQUIRES[step] if steps[need][0] != "done"]
            if done:
                state = "done"
            elif missing:
                state = "blocked"
                labels = dict(STEPS)
                summary = self.env._(
                    "%(summary)sWaits for: %(steps)s.",
                    summary=summary + " " if summary else "",
                    steps=", ".join(labels[need] for need in missing),
                )
            else:
                state = "todo"
            steps[step] = (state, summary)
        return steps

    def _cliniko_overview_connect(self):
        if not self.api_key_set:
            return False, self.env._("No API key yet.")
        if not self.tested_at:
            return False, self.env._("The key is set but not tested yet.")
        return True, self.test_message or self.env._("Tested.")

    def _cliniko_overview_audit(self):
        audit = self.source_audit_ids[:1]
        if not audit:
            return False, self.env._("Not audited yet.")
        if audit.state == "done":
            return True, self.env._(
                "%(findings)s finding(s) covering %(records)s record(s), %(patients)s "
                "patient(s) read.",
                findings=len(audit.finding_ids),
                records=sum(audit.finding_ids.mapped("count")),
                patients=audit.patient_count,
            )
        if audit.state == "failed":
            return False, self.env._("The last audit failed: %s", audit.error_message or "?")
        return False, self.env._("The audit is %s.", self._cliniko_label(audit, "state").lower())

    def _cliniko_overview_practitioners(self, working):
        bound = self.env["cliniko.external.ref"].search_count(
            [("connection_id", "=", self.id), ("resource", "=", "practitioners")]
        )
        if not working:
            if bound:
                return True, self.env._("%s practitioner(s) migrated.", bound)
            return False, self.env._("Not read yet: they are resolved on a run.")
        decisions = working.practitioner_decision_ids
        pending = working.practitioner_pending_count
        if pending:
            return False, self.env._(
                "%(pending)s of %(total)s practitioner(s) without a decision on %(run)s.",
                pending=pending,
                total=len(decisions),
                run=working.display_name,
            )
        if working.unmatched_practitioners:
            policy = self._cliniko_label(working, "unmatched_practitioners")
            return True, self.env._(
                "Unmatched practitioners: %(policy)s (%(run)s).",
                policy=policy,
                run=working.display_name,
            )
        if working.practitioners_resolved_at or decisions:
            matched = len(decisions.filtered(lambda decision: decision.decision == "map"))
            return True, self.env._(
                "%(total)s practitioner(s) read: %(matched)s mapped to a user, %(others)s "
                "decided.",
                total=len(decisions),
                matched=matched,
                others=len(decisions) - matched,
            )
        if bound:
            return True, self.env._("%s practitioner(s) migrated.", bound)
        return False, self.env._("Not read yet on %s.", working.display_name)

    def _cliniko_overview_map(self, working):
        maps = self.env["cliniko.field.map"].search([("connection_id", "=", self.id)], order="id")
        if not maps:
            return False, self.env._("No field map yet.")
        field_map = working.field_map_id or maps[-1:]
        version = list(maps).index(field_map) + 1 if field_map in maps else len(maps)
        if field_map.state != "confirmed":
            return False, self.env._(
                "Version %(version)s proposed, not confirmed: %(lines)s field(s), %(custom)s "
                "custom.",
                version=version,
                lines=field_map.line_count,
                custom=field_map.custom_line_count,
            )
        return True, self.env._(
            "Version %(version)s confirmed by %(user)s: %(lines)s field(s), %(custom)s custom.",
            version=version,
            user=field_map.confirmed_by_id.name or "?",
            lines=field_map.line_count,
            custom=field_map.custom_line_count,
        )

    def _cliniko_overview_sample(self, runs, live):
        samples = runs.filtered(lambda run: run.run_type == "sample")
        reviewed = samples.filtered(lambda run: run.state in ("done", "rolled_back"))[:1]
        if reviewed:
            return True, self.env._(
                "%(run)s: %(patients)s patient(s), %(mismatches)s of %(fields)s field(s) "
                "differ%(rolled)s.",
                run=reviewed.display_name,
                patients=reviewed.sample_patient_count,
                mismatches=reviewed.sample_diff_mismatch_count,
                fields=len(reviewed.sample_diff_ids),
                rolled=self.env._(" (rolled back)") if reviewed.state == "rolled_back" else "",
            )
        full = live.filtered(lambda run: run.run_type == "full" and run.state != "draft")[:1]
        if full:
            return True, self.env._("Skipped: %s went first.", full.display_name)
        sample = live.filtered(lambda run: run.run_type == "sample")[:1]
        if sample:
            return False, self._cliniko_overview_run_state(sample)
        return False, self.env._("No sample yet.")

    def _cliniko_overview_run_state(self, run):
        state = self._cliniko_label(run, "state")
        if run.state in ("queued", "running", "paused", "blocked"):
            return self.env._(
                "%(run)s: %(state)s, %(progress)s %%.",
                run=run.display_name,
                state=state,
                progress=round(run.progress),
            )
        if run.state == "failed":
            return self.env._(
                "%(run)s failed: %(error)s", run=run.display_name, error=run.error_message or "?"
            )
        return self.env._("%(run)s: %(state)s.", run=run.display_name, state=state)

    def _cliniko_overview_run(self, live):
        full = live.filtered(lambda run: run.run_type == "full")[:1]
        if not full:
            return False, self.env._("No full run yet.")
        if full.state != "done":
            return False, self._cliniko_overview_run_state(full)
        lines = full.resource_ids
        return True, self.env._(
            "%(run)s: %(fetched)s fetched, %(created)s created, %(updated)s updated, "
            "%(skipped)s skipped, %(failed)s failed.",
            run=full.display_name,
            fetched=sum(lines.mapped("fetched")),
            created=sum(lines.mapped("created")),
            updated=sum(lines.mapped("updated")),
            skipped=sum(lines.mapped("skipped")),
            failed=sum(lines.mapped("failed")),
        )

    def _cliniko_overview_verify(self, live):
        full = live.filtered(lambda run: run.run_type == "full" and run.state == "done")[:1]
        if not full:
            return False, ""
        if full.verified:
            return True, self.env._(
                "%s verified: counts reconcile, nothing differs unacknowledged.",
                full.display_name,
            )
        if not full.verified_at:
            return False, self.env._("%s is not verified yet.", full.display_name)
        unreconciled = len(
            full.verification_resource_ids.filtered(lambda line: not line.reconciled)
        )
        return False, self.env._(
            "%(run)s: %(open)s mismatch(es) to acknowledge, %(resources)s resource(s) whose "
            "counts do not reconcile.",
            run=full.display_name,
            open=full.verification_open_count,
            resources=unreconciled,
        )

    def _cliniko_overview_cutover(self):
        if self.cliniko_switched_off_at:
            return True, self.env._(
                "Cliniko switched off on %(date)s%(final)s.",
                date=fields.Date.to_string(
                    fields.Datetime.context_timestamp(self, self.cliniko_switched_off_at)
                ),
                final=self.env._(" after final sync %s", self.final_run_id.display_name)
                if self.final_run_id
                else "",
            )
        conflicts = self.env._("%s open conflict(s)", self.conflict_open_count)
        if not self.delta_enabled:
            return False, self.env._("Delta sync is off; %s.", conflicts)
        return False, self.env._(
            "Delta sync every %(minutes)s min, last success %(last)s, next %(next)s; "
            "%(conflicts)s.",
            minutes=self.delta_interval_minutes,
            last=self._cliniko_overview_when(self.delta_last_success) or self.env._("never"),
            next=self._cliniko_overview_when(self.delta_next_at) or self.env._("not scheduled"),
            conflicts=conflicts,
        )

    def _cliniko_label(self, record, name):
        """The label of a selection field's value, in the user's language."""
        return dict(record._fields[name]._description_selection(self.env))[record[name]]

    def _cliniko_overview_when(self, value):
        if not value:
            return False
        local = fields.Datetime.context_timestamp(self, value)
        return local.strftime("%Y-%m-%d %H:%M")

    # -- the buttons ---------------------------------------------------------------------------
    def action_overview_next(self):
        """The next step's screen."""
        self.ensure_one()
        step = self.overview_next_step
        if step == "finished":
            return self.action_overview_open_connection()
        return getattr(self, "action_overview_%s" % step)()

    def action_open_overview(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.display_name,
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [
                (
                    self.env.ref("cliniko_crm_migration.cliniko_connection_view_form_overview").id,
                    "form",
                )
            ],
            "target": "current",
        }

    def _cliniko_overview_open(self, record):
        return {
            "type": "ir.actions.act_window",
            "res_model": record._name,
            "res_id": record.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
        }

    def _cliniko_overview_working_run(self, run_type="sample"):
        """The run being worked on; a draft one of ``run_type`` when there is none."""
        _runs, live = self._cliniko_overview_runs()
        if live:
            return live[:1]
        return self.env["cliniko.migration.run"].create(
            {"connection_id": self.id, "run_type": run_type}
        )

    def action_overview_open_connection(self):
        self.ensure_one()
        return self._cliniko_overview_open(self)

    def action_overview_connect(self):
        return self.action_overview_open_connection()

    def action_overview_audit(self):
        self.ensure_one()
        audit = self.source_audit_ids[:1]
        if not audit or audit.state == "failed":
            return self.action_run_source_audit()
        return self._cliniko_overview_open(audit)

    def action_overview_practitioners(self):
        self.ensure_one()
        return self._cliniko_overview_open(self._cliniko_overview_working_run())

    def action_overview_map(self):
        self.ensure_one()
        run = self._cliniko_overview_working_run()
        if run.field_map_id:
            return run.action_open_field_map()
        latest = self.env["cliniko.field.map"].search(
            [("connection_id", "=", self.id)], order="id desc", limit=1
        )
        if latest:
            return self._cliniko_overview_open(latest)
        return run.action_propose_field_map()

    def action_overview_sample(self):
        self.ensure_one()
        _runs, live = self._cliniko_overview_runs()
        sample = live.filtered(lambda run: run.run_type == "sample")[:1]
        return self._cliniko_overview_open(sample or self._cliniko_overview_working_run())

    def action_overview_run(self):
        """The full run; else the finished sample (kept, a full run carries on from it, or
        rolled back); else a new draft full run."""
        self.ensure_one()
        _runs, live = self._cliniko_overview_runs()
        run = live.filtered(lambda run: run.run_type == "full")[:1] or live.filtered(
            lambda run: run.run_type == "sample" and run.state == "done"
        )[:1]
        if not run:
            run = self.env["cliniko.migration.run"].create(
                {"connection_id": self.id, "run_type": "full"}
            )
        return self._cliniko_overview_open(run)

    def action_overview_verify(self):
        self.ensure_one()
        _runs, live = self._cliniko_overview_runs()
        full = live.filtered(lambda run: run.run_type == "full")[:1]
        return self._cliniko_overview_open(full) if full else self.action_overview_run()

    def action_overview_cutover(self):
        return self.action_overview_open_connection()
