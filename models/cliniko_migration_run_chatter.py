"""What a run says about itself: its chatter, the admin's activity, and why records were
left out.

* **Chatter**: the run posts an internal note (``mail.mt_note``, never an e-mail, nobody
  notified) when it starts or resumes, pauses for decisions, is paused, finishes (with its
  totals), fails (with the reason), is cancelled or rolled back. No field is tracked: each
  change of state is said once, in words.
* **The admin's activity**: the user who started the run (else who created it) gets a *To-Do*
  when the run needs them (decisions to take, a failure); it is marked done when the run goes
  on, finishes, is cancelled or rolled back. Activities are scheduled in the migration's silent
  context: no assignment e-mail.
* **Why records were skipped or failed**: the run's skip and fail audit lines grouped by
  resource, outcome and reason (ids in a reason are left out so alike reasons group), with
  how many and a few of the patients concerned, for the migration managers who read the run.
"""

import re

from markupsafe import Markup, escape

from odoo import SUPERUSER_ID, api, fields, models

from ..migration import graph
from .cliniko_migration_run import COUNTERS
from ..migration.context import silent_env

# How many examples (patients, else Cliniko ids) a reason shows, and how many reasons.
REASON_EXAMPLES = 3
REASON_ROWS = 40
# Cliniko ids in a reason vary from record to record: alike reasons group as one.
_NUMBER = re.compile(r"\d{4,}")

EVENTS = {
    "started": "Run started.",
    "resumed": "Run resumed from where it stopped.",
    "blocked": "Run paused: it needs decisions.",
    "paused": "Run paused.",
    "done": "Run finished.",
    "failed": "Run failed.",
    "cancelled": "Run cancelled: what it wrote stays and can be rolled back.",
    "rolled_back": "Run rolled back.",
}
# Events after which the run needs its admin, with the activity's summary.
NEEDS_ADMIN = {
    "blocked": "Cliniko run: decisions needed",
    "failed": "Cliniko run failed",
}


class ClinikoMigrationRun(models.Model):
    _inherit = "cliniko.migration.run"

    skip_fail_html = fields.Html(
        string="Why Records Were Skipped or Failed",
        compute="_compute_skip_fail_html",
        help="The run's skipped and failed records grouped by reason, with how many and a few "
        "of the patients concerned (the audit log lists every one).",
    )

    @api.model_create_multi
    def create(self, vals_list):
        # No "created" note (the run says when it starts) and nobody subscribed: the admin
        # hears of the run through its To-Do, and a note notifies no follower anyway.
        runs = super(
            ClinikoMigrationRun,
            self.with_context(mail_create_nolog=True, mail_create_nosubscribe=True),
        ).create(vals_list)
        return runs.with_env(self.env)

    # -- chatter -----------------------------------------------------------------------------
    def _cliniko_note_event(self, event, detail=None):
        """Say in the run's chatter that ``event`` (a key of ``EVENTS``) happened, with
        ``detail`` (plain text, escaped); open or close the admin's activity accordingly."""
        for run in self:
            run = run.with_env(silent_env(run.env))  # noqa: PLW2901 - nobody is notified
            paragraphs = [EVENTS[event], *([detail] if detail else [])]
            if event == "done":
                paragraphs.append(run._cliniko_totals_text())
            body = Markup("").join(Markup("<p>%s</p>") % text for text in paragraphs)
            run.message_post(body=body, message_type="notification", subtype_xmlid="mail.mt_note")
            # The migration's context skips activity automation: not for the admin's To-Do
            # (still without an assignment e-mail: mail_activity_quick_update stays).
            run = run.with_context(mail_activity_automation_skip=False)  # noqa: PLW2901
            if event in NEEDS_ADMIN:
                run._cliniko_ask_admin(NEEDS_ADMIN[event], "\n".join(paragraphs))
            else:
                run._cliniko_admin_answered(EVENTS[event])
            run.invalidate_recordset(["activity_ids"])

    def _cliniko_totals_text(self):
        lines = self.resource_ids.sorted("sequence")
        totals = {name: sum(lines.mapped(name)) for name in COUNTERS}
        return self.env._(
            "%(fetched)s records read: %(created)s created, %(updated)s updated, "
            "%(unchanged)s unchanged, %(skipped)s skipped, %(failed)s failed.",
            **{name: "{:,}".format(value) for name, value in totals.items()},
        )

    def _cliniko_admin(self):
        """The user to ask: who started the run, else who created it; none when that is the
        system (a scheduled delta) or a user who may not see the run."""
        self.ensure_one()
        user = self.started_by_id or self.create_uid
        if (
            not user
            or user.id == SUPERUSER_ID
            or not user.active
            or not user.has_group("cliniko_crm_migration.group_cliniko_manager")
        ):
            return self.env["res.users"]
        return user

    def _cliniko_ask_admin(self, summary, note):
        self.ensure_one()
        user = self._cliniko_admin()
        if not user:
            return
        todo = self.env.ref("mail.mail_activity_data_todo")
        open_ = self.activity_ids.filtered(
            lambda activity: activity.activity_type_id == todo and activity.user_id == user
        )
        if open_:
            open_.write({"summary": summary, "note": _note_html(note)})
            return
        self.activity_schedule(
            "mail.mail_activity_data_todo", summary=summary, note=_note_html(note), user_id=user.id
        )

    def _cliniko_admin_answered(self, feedback):
        """The run goes on or is over: the admin's open To-Do on it is done."""
        self.ensure_one()
        todo = self.env.ref("mail.mail_activity_data_todo")
        open_ = self.activity_ids.filtered(lambda activity: activity.activity_type_id == todo)
        if open_:
            open_.action_feedback(feedback=feedback)

    # -- why records were skipped or failed ---------------------------------------------------
    def _cliniko_skip_fail_reasons(self):
        """``[{"resource", "label", "action", "reason", "count", "examples"}]``, most first:
        the run's skip and fail lines (not the unchanged ones, not the rollback's), grouped by
        resource, action and reason with the ids (numbers of 4 digits or more) in the reason
        left out."""
        self.ensure_one()
        groups = self.env["cliniko.audit.log"].sudo()._read_group(
            [
                ("run_id", "=", self.id),
                ("action", "in", ("skip", "fail")),
                ("unchanged", "=", False),
                ("is_rollback", "=", False),
            ],
            ["resource", "action", "message"],
            ["__count", "patient_name:array_agg", "cliniko_id:array_agg"],
        )
        merged = {}
        for resource, action, message, count, names, cliniko_ids in groups:
            reason = _NUMBER.sub("…", message or "") or self.env._("(no reason given)")
            row = merged.setdefault(
                (resource or "", action, reason),
                {
                    "resource": resource or "",
                    "action": action,
                    "reason": reason,
                    "count": 0,
                    "examples": [],
                },
            )
            row["count"] += count
            for name, cliniko_id in zip(names, cliniko_ids, strict=True):
                if len(row["examples"]) >= REASON_EXAMPLES:
                    break
                example = name or (cliniko_id and "#%s" % cliniko_id)
                if example and example not in row["examples"]:
                    row["examples"].append(example)
        order = {name: index for index, name in enumerate(graph.names())}
        rows = sorted(
            merged.values(), key=lambda row: (-row["count"], order.get(row["resource"], 99))
        )
        for row in rows:
            try:
                row["label"] = graph.get(row["resource"]).label
            except KeyError:
                row["label"] = row["resource"] or "?"
        return rows

    @api.depends("audit_count", "state")
    def _compute_skip_fail_html(self):
        actions = {"skip": self.env._("Skipped"), "fail": self.env._("Failed")}
        for run in self:
            rows = run._cliniko_skip_fail_reasons() if run.id else []
            if not rows:
                run.skip_fail_html = False
                continue
            head = Markup(
                "<thead><tr><th>%s</th><th>%s</th><th>%s</th><th class='text-end'>%s</th>"
                "<th>%s</th></tr></thead>"
            ) % (
                self.env._("Resource"),
                self.env._("Outcome"),
                self.env._("Reason"),
                self.env._("Records"),
                self.env._("For example"),
            )
            body = Markup("").join(
                Markup(
                    "<tr><td>%s</td><td>%s</td><td>%s</td><td class='text-end'>%s</td>"
                    "<td>%s</td></tr>"
                )
                % (
                    row["label"],
                    actions[row["action"]],
                    row["reason"],
                    "{:,}".format(row["count"]),
                    ", ".join(row["examples"]),
                )
                for row in rows[:REASON_ROWS]
            )
            more = ""
            if len(rows) > REASON_ROWS:
                more = Markup("<p class='text-muted'>%s</p>") % self.env._(
                    "%(count)s more reasons: see the audit log.", count=len(rows) - REASON_ROWS
                )
            table = Markup("<table class='table table-sm'>%s<tbody>%s</tbody></table>")
            run.skip_fail_html = table % (head, body) + more


def _note_html(text):
    return Markup("<br/>").join(escape(line) for line in text.split("\n"))
