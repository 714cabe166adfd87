"""The rollback's confirmation dialog: what a rollback will remove, restore and keep.

The counts come from the run's audit log (one line per record the run created or updated);
the records a person changed since the run are found with the same rule the rollback
applies (``RunRollback.kept_records``). Confirming calls the run's rollback, which is
safe to run twice: a run already rolled back is left as it is. From the web client the
rollback is queued for the scheduler (``cliniko_migration_run_jobs.py``), never done inside
the request.
"""

from markupsafe import Markup, escape

from odoo import api, fields, models

from ..migration import graph
from ..migration.rollback import RunRollback
from ..migration.runner import MigrationRunner

KEPT_SHOWN = 50


class ClinikoRollbackWizard(models.TransientModel):
    _name = "cliniko.rollback.wizard"
    _description = "Roll Back a Cliniko Migration Run"

    run_id = fields.Many2one("cliniko.migration.run", required=True, ondelete="cascade")
    run_state = fields.Selection(related="run_id.state")
    remove_count = fields.Integer(string="To Remove", compute="_compute_counts")
    restore_count = fields.Integer(string="To Restore", compute="_compute_counts")
    keep_count = fields.Integer(string="To Keep", compute="_compute_counts")
    summary = fields.Html(compute="_compute_counts")

    @api.depends("run_id")
    def _compute_counts(self):
        for wizard in self:
            counts = wizard.rollback_counts()
            wizard.remove_count = sum(row["remove"] for row in counts["resources"].values())
            wizard.restore_count = sum(row["restore"] for row in counts["resources"].values())
            wizard.keep_count = len(counts["kept"])
            wizard.summary = _summary_html(counts)

    def rollback_counts(self):
        """``{"resources": {resource: {"label", "remove", "restore", "keep"}}, "kept": [...]}``
        for what the rollback of the run would do now."""
        self.ensure_one()
        result = {"resources": {}, "kept": []}
        run = self.run_id
        if not run or run.state == "rolled_back":
            return result
        rollback = RunRollback(MigrationRunner(run))
        lines, _rank = rollback.lines_in_order()
        kept = rollback.kept_records(lines)
        for line in lines:
            try:
                label = graph.get(line.resource).label
            except KeyError:
                label = line.resource or ""
            row = result["resources"].setdefault(
                line.resource or "", {"label": label, "remove": 0, "restore": 0, "keep": 0}
            )
            key = (line.res_model, line.res_id)
            if key in kept:
                row["keep"] += 1
            elif line.action == "create":
                row["remove"] += 1
            else:
                row["restore"] += 1
        result["kept"] = [
            {"model": model, "id": res_id, "reason": reason}
            for (model, res_id), reason in sorted(kept.items())
        ]
        return result

    def action_confirm(self):
        self.ensure_one()
        self.run_id.action_rollback()
        return {
            "type": "ir.actions.act_window",
            "res_model": "cliniko.migration.run",
            "res_id": self.run_id.id,
            "view_mode": "form",
            "target": "current",
        }


def _summary_html(counts):
    rows = [
        Markup("<tr><td>%s</td><td class='text-end'>%s</td><td class='text-end'>%s</td>")
        % (row["label"], row["remove"], row["restore"])
        + Markup("<td class='text-end'>%s</td></tr>") % row["keep"]
        for row in counts["resources"].values()
    ]
    if not rows:
        return Markup("<p>Nothing to undo: this run wrote nothing, or is rolled back.</p>")
    table = Markup(
        "<table class='table table-sm o_cliniko_rollback_summary'><thead><tr><th>Resource</th>"
        "<th class='text-end'>Records to remove</th><th class='text-end'>Records to restore"
        "</th><th class='text-end'>Kept (changed since)</th></tr></thead><tbody>%s</tbody>"
        "</table>"
    ) % Markup("").join(rows)
    kept = counts["kept"]
    if kept:
        items = Markup("").join(
            Markup("<li>%s #%s: %s</li>") % (entry["model"], entry["id"], entry["reason"])
            for entry in kept[:KEPT_SHOWN]
        )
        more = (
            Markup("<li>… and %s more</li>") % (len(kept) - KEPT_SHOWN)
            if len(kept) > KEPT_SHOWN
            else Markup("")
        )
        table += Markup(
            "<p>Kept as they are (a person changed them after the run):</p><ul>%s%s</ul>"
        ) % (items, more)
    return table + Markup("<p>%s</p>") % escape(
        "Chatter messages, attachments, calendar events and placeholder users the run made "
        "are removed with the rest. Every step is written to the audit log. Safe to run "
        "twice: a run already rolled back is left as it is."
    )
