"""The Data Exports dialog on a connection: upload Cliniko's CSV files (or a ZIP of them), read
what they hold, check and confirm the proposed column map, then import.

Step 1 (upload): the files are read (``migration/exports.py``): type, date, rows, the date order
chosen and why, mixed or ambiguous date columns, and every row that cannot be read, with its row
number. Step 2 (review): the column map of each file's headers (reused when confirmed before);
the admin edits the targets and the date order. Importing confirms the maps and starts one run
(``run_type = 'export'``), which moves nothing before that.
"""

import base64

from markupsafe import Markup

from odoo import fields, models
from odoo.exceptions import UserError


class ClinikoExportImportWizard(models.TransientModel):
    _name = "cliniko.export.import.wizard"
    _description = "Import Cliniko Data Exports"

    connection_id = fields.Many2one("cliniko.connection", required=True, ondelete="cascade")
    attachment_ids = fields.Many2many("ir.attachment", string="Files")
    step = fields.Selection([("upload", "Upload"), ("review", "Review")], default="upload")
    map_ids = fields.Many2many("cliniko.export.map", string="Column Maps")
    line_ids = fields.Many2many("cliniko.export.map.line", string="Columns")
    date_order = fields.Selection(
        [("dmy", "Day/month"), ("mdy", "Month/day")],
        help="The order the files' a/b/yyyy dates are read in (detected; confirm it).",
    )
    report = fields.Html(readonly=True, sanitize=True)
    run_id = fields.Many2one("cliniko.migration.run", readonly=True)

    def _files(self):
        files = [(a.name, base64.b64decode(a.datas or b"")) for a in self.attachment_ids]
        if not files:
            raise UserError(self.env._("Add the CSV files (or a ZIP of them) first."))
        return files

    def action_read(self):
        self.ensure_one()
        reports, maps = self.connection_id.cliniko_export_preview(
            self._files(), self.date_order or None
        )
        self.write(
            {
                "step": "review",
                "map_ids": [(6, 0, maps.ids)],
                "line_ids": [(6, 0, maps.line_ids.ids)],
                "date_order": self.date_order or (maps[:1].date_order or "dmy"),
                "report": _report_html(reports),
            }
        )
        return self._reopen()

    def action_import(self):
        self.ensure_one()
        drafts = self.map_ids.filtered(lambda export_map: export_map.state == "draft")
        if self.date_order:
            drafts.write({"date_order": self.date_order})
        drafts.action_confirm()
        summary = self.connection_id.cliniko_import_exports(self._files())
        run = self.env["cliniko.migration.run"].browse(summary.get("run_id"))
        if not run:
            raise UserError(summary.get("error") or self.env._("Nothing was imported."))
        return {
            "type": "ir.actions.act_window",
            "res_model": run._name,
            "res_id": run.id,
            "view_mode": "form",
            "target": "current",
        }

    def _reopen(self):
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }


def _report_html(files):
    parts = []
    for report in files:
        parts.append(
            Markup("<h5>%s</h5><p>%s rows, dated %s. Dates read %s. %s</p>")
            % (
                report["file"],
                report["rows"],
                report["date"] or "?",
                report["date_order_reason"],
                Markup("Unknown columns (kept in the lead's custom fields): %s.")
                % ", ".join(report["unknown_columns"])
                if report["unknown_columns"]
                else "",
            )
        )
        for key, words in (("mixed_columns", "Mixed"), ("ambiguous_columns", "Ambiguous")):
            if report[key]:
                parts.append(Markup("<p>%s date columns: %s</p>") % (words, ", ".join(report[key])))
        if report["errors"]:
            rows = Markup("").join(
                Markup("<li>row %s: %s</li>") % (error["row"], error["reason"])
                for error in report["errors"][:200]
            )
            parts.append(Markup("<p>Rows that cannot be read:</p><ul>%s</ul>") % rows)
    return Markup("").join(parts)
