"""Cliniko's Data Exports (CSV) as a second source: the column map, the run, the lead's credit.

* ``cliniko.export.map``: which target each header of a file goes to, proposed by
  ``migration/exports.py`` (exact header, label similarity, value profile, each with its
  confidence and reason) and confirmed by the admin, like the API's field map. One map per
  connection and set of headers: the confirmed map is reused for the next file with the same
  headers, and nothing moves before it is confirmed. Unknown columns are listed (target
  "custom": the lead's custom-field table), never dropped silently.
* A run of type ``export`` imports the files attached to it through
  ``migration/export_import.py`` (the same binder, audit lines and rollback as API runs).
* ``connection.cliniko_import_exports(files)``: what the wizard and ``cliniko import-export``
  call.
"""

import base64
import json

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..migration import exports
from ..migration.export_import import ExportRunner, check_confirmed

DATE_ORDERS = [("dmy", "Day/month (31/12/2026)"), ("mdy", "Month/day (12/31/2026)")]
MONTH_FIRST_COUNTRIES = ("US", "PH", "FM", "MH", "PW")


def _target_selection(_model=None):
    return [(key, "%s (%s)" % (label, key)) for key, label, *_rest in exports.PATIENT_TARGETS] + [
        (exports.CUSTOM, "Lead's custom fields (Data export section)"),
        (exports.SKIP, "Skip"),
    ]


class ClinikoExportMap(models.Model):
    _name = "cliniko.export.map"
    _inherit = ["cliniko.confirmed.map.mixin"]
    _description = "Cliniko Data Export Column Map"
    _order = "id desc"

    name = fields.Char(required=True)
    connection_id = fields.Many2one(
        "cliniko.connection", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="connection_id.company_id", store=True)
    export_type = fields.Char(required=True, default="patients")
    signature = fields.Char(required=True, index=True, help="The export type and its headers.")
    date_order = fields.Selection(DATE_ORDERS, required=True, default="dmy")
    date_order_reason = fields.Char(string="Date Order Detected", readonly=True)
    line_ids = fields.One2many("cliniko.export.map.line", "map_id", string="Columns")
    unknown_count = fields.Integer(string="Unknown Columns", compute="_compute_unknown_count")

    @api.depends("line_ids.target")
    def _compute_unknown_count(self):
        for export_map in self:
            export_map.unknown_count = len(
                export_map.line_ids.filtered(lambda line: line.target == exports.CUSTOM)
            )

    @api.model
    def _cliniko_for(self, connection, export):
        """The map of ``export``'s headers: the confirmed one, else the draft one, else a new
        proposal."""
        domain = [("connection_id", "=", connection.id), ("signature", "=", export.signature)]
        found = self.search(domain, order="state desc, id desc", limit=1)
        if found:
            return found
        lines = [
            (
                0,
                0,
                {
                    "sequence": index,
                    "header": proposal["header"],
                    "target": proposal["target"],
                    "confidence": proposal["confidence"],
                    "reason": proposal["reason"],
                    "profile": proposal["profile"],
                    "header_confirmed": proposal["confirmed"],
                },
            )
            for index, proposal in enumerate(exports.propose_columns(export))
        ]
        return self.create(
            {
                "name": "%s: %s columns"
                % (connection.name, exports.KNOWN_TYPES[export.export_type]),
                "connection_id": connection.id,
                "export_type": export.export_type,
                "signature": export.signature,
                "date_order": export.date_order,
                "date_order_reason": export.date_order_reason,
                "line_ids": lines,
            }
        )

    def _cliniko_column_map(self):
        self.ensure_one()
        return {line.header: line.target for line in self.line_ids}

    def action_confirm(self):
        for export_map in self:
            targets = [
                line.target
                for line in export_map.line_ids
                if line.target not in (exports.CUSTOM, exports.SKIP)
            ]
            if "id" not in targets:
                raise UserError(
                    self.env._("Map a column to the Patient ID: rows are matched by it.")
                )
            twice = sorted({target for target in targets if targets.count(target) > 1})
            if twice:
                raise UserError(
                    self.env._("Each target takes one column; given twice: %s", ", ".join(twice))
                )
            export_map._cliniko_mark_confirmed()
        return True

    def action_reset_to_draft(self):
        self._cliniko_mark_draft()
        return True

    def cliniko_summary(self):
        self.ensure_one()
        return {
            "map_id": self.id,
            "state": self.state,
            "date_order": self.date_order,
            "columns": [
                {
                    "header": line.header,
                    "target": line.target,
                    "confidence": line.confidence,
                    "reason": line.reason,
                    "header_confirmed": line.header_confirmed,
                }
                for line in self.line_ids
            ],
            "unknown_columns": [
                line.header for line in self.line_ids if line.target == exports.CUSTOM
            ],
        }


class ClinikoExportMapLine(models.Model):
    _name = "cliniko.export.map.line"
    _inherit = ["cliniko.confirmed.map.line.mixin"]
    _description = "Cliniko Data Export Column"
    _order = "map_id, sequence, id"

    map_id = fields.Many2one("cliniko.export.map", required=True, ondelete="cascade", index=True)
    map_state = fields.Selection(related="map_id.state")
    sequence = fields.Integer()
    header = fields.Char(required=True, readonly=True)
    target = fields.Selection(_target_selection, required=True, default=exports.CUSTOM)
    confidence = fields.Integer(readonly=True, help="0-100: how sure the proposal is.")
    reason = fields.Char(readonly=True)
    profile = fields.Char(string="Values", readonly=True)
    header_confirmed = fields.Boolean(
        string="Header Confirmed",
        readonly=True,
        help="A source names this header (DATA_EXPORTS.md); otherwise its name is assumed.",
    )



class CrmLead(models.Model):
    _inherit = "crm.lead"

    cliniko_account_credit = fields.Monetary(
        string="Account Credit",
        currency_field="company_currency",
        help="The patient's unapplied account credit in Cliniko, from the patients Data "
        "Export (the API has no such field).",
    )
    cliniko_account_credit_date = fields.Date(
        string="Account Credit As Of", help="The date of the export file it was read from."
    )
    cliniko_last_appointment_date = fields.Date(
        string="Last Appointment (export)", help="From Cliniko's patients Data Export."
    )
    cliniko_next_appointment_date = fields.Date(
        string="Next Appointment (export)", help="From Cliniko's patients Data Export."
    )


class ClinikoMigrationRun(models.Model):
    _inherit = "cliniko.migration.run"

    run_type = fields.Selection(
        selection_add=[("export", "Data export (CSV)")], ondelete={"export": "cascade"}
    )
    export_map_ids = fields.Many2many("cliniko.export.map", string="Column Maps", readonly=True)
    export_stats = fields.Json(string="Data Export Figures", readonly=True, copy=False)
    export_report = fields.Json(string="Files Read", readonly=True, copy=False)
    export_figures = fields.Char(string="Data Export", compute="_compute_export_figures")

    @api.depends("export_stats", "run_type")
    def _compute_export_figures(self):
        keys = ("rows", "matched", "enriched", "unchanged", "created", "failed", "with_credit")
        for run in self:
            if run.run_type != "export" or not run.export_stats:
                run.export_figures = False
                continue
            stats = dict(dict.fromkeys(keys, 0), **run.export_stats)
            run.export_figures = (
                "%(rows)s rows: %(matched)s matched (%(enriched)s enriched, %(unchanged)s "
                "unchanged), %(created)s created, %(failed)s failed; %(with_credit)s with "
                "account credit" % stats
            )

    def _cliniko_runner(self, **options):
        if self.run_type == "export":
            return ExportRunner(self, **options)
        return super()._cliniko_runner(**options)

    def _cliniko_ensure_field_map(self, client=None):
        """A file run follows the API's confirmed map when there is one (skipped fields stay
        skipped) and needs none otherwise: its gate is the confirmed column map of each file."""
        if self.run_type == "export":
            self.ensure_one()
            return self.field_map_id if self.field_map_id.state == "confirmed" else None
        return super()._cliniko_ensure_field_map(client=client)

    def _cliniko_check_export_files(self):
        """A start check (``START_CHECKS``): a Data Export run's files can be read."""
        if self.run_type == "export":
            self._cliniko_export_files()

    def _cliniko_export_attachments(self):
        return (
            self.env["ir.attachment"]
            .sudo()
            .search([("res_model", "=", self._name), ("res_id", "=", self.id)], order="id")
        )

    def _cliniko_export_files(self):
        """``[(ExportFile, column map)]`` of the run's files, each read in its confirmed map's
        date order; UserError when a file cannot be read or its map is not confirmed."""
        self.ensure_one()
        result = []
        for attachment in self._cliniko_export_attachments():
            data = base64.b64decode(attachment.datas or b"")
            try:
                found = exports.read_upload(attachment.name, data)
            except exports.ExportError as error:
                raise UserError(str(error)) from None
            for export in found:
                export_map = self.env["cliniko.export.map"].search(
                    [
                        ("connection_id", "=", self.connection_id.id),
                        ("signature", "=", export.signature),
                        ("state", "=", "confirmed"),
                    ],
                    order="confirmed_at desc, id desc",
                    limit=1,
                )
                check_confirmed(export_map, export.name)
                if export_map.date_order != export.date_order:
                    export = exports.read_export(  # noqa: PLW2901 - read again in that order
                        export.name, _member(attachment, data, export.name), export_map.date_order
                    )
                result.append((export, export_map._cliniko_column_map()))
        if not result:
            raise UserError(self.env._("The run has no Data Export file to import."))
        return result

    def summary(self):
        result = super().summary()
        if self.run_type == "export":
            result["export"] = self.export_stats or {}
        return result


def _member(attachment, data, name):
    """The bytes of ``name``: the attachment itself, or its member when it is a ZIP."""
    if attachment.name == name:
        return data
    import io  # noqa: PLC0415 - only for ZIP uploads
    import zipfile  # noqa: PLC0415

    archive = zipfile.ZipFile(io.BytesIO(data))
    for member in archive.infolist():
        if member.filename.rsplit("/", 1)[-1] == name:
            return archive.read(member)
    return data


class ClinikoConnection(models.Model):
    _inherit = "cliniko.connection"

    def _cliniko_default_date_order(self):
        country = self.country_id or self.company_id.country_id
        return "mdy" if country and country.code in MONTH_FIRST_COUNTRIES else "dmy"

    def cliniko_export_preview(self, files, date_order=None):
        """Read ``files`` (``[(name, bytes)]``: CSVs or ZIPs of them) and propose or reuse the
        column map of each: ``(reports, maps)``, nothing imported. A file that cannot be read
        at all raises a UserError in plain words."""
        self.ensure_one()
        Map = self.env["cliniko.export.map"]
        reports, maps = [], Map
        for name, data in files:
            try:
                found = exports.read_upload(
                    name, data, date_order, self._cliniko_default_date_order()
                )
            except exports.ExportError as error:
                raise UserError(str(error)) from None
            for export in found:
                export_map = Map._cliniko_for(self, export)
                if date_order and export_map.state == "draft":
                    export_map.date_order = date_order
                maps |= export_map
                report = export.report()
                report.update(export_map.cliniko_summary())
                reports.append(report)
        return reports, maps

    def cliniko_import_exports(self, files, accept_proposed_map=False, date_order=None):
        """Preview ``files`` and, when every column map is confirmed (or
        ``accept_proposed_map``), import them in one run. Returns a JSON-safe summary."""
        reports, maps = self.cliniko_export_preview(files, date_order)
        if accept_proposed_map:
            maps.filtered(lambda export_map: export_map.state == "draft").action_confirm()
        summary = {"files": reports, "api_only": list(exports.API_ONLY)}
        if any(export_map.state != "confirmed" for export_map in maps):
            summary["state"] = "needs_confirmation"
            summary["error"] = (
                "Confirm the column map of each file (or pass --accept-proposed-map) before "
                "anything moves."
            )
            return summary
        run = self.env["cliniko.migration.run"].create(
            {
                "connection_id": self.id,
                "run_type": "export",
                "resources": "patients",
                "export_map_ids": [(6, 0, maps.ids)],
                "export_report": json.loads(json.dumps(reports, default=str)),
            }
        )
        self.env["ir.attachment"].sudo().create(
            [
                {
                    "name": name,
                    "res_model": run._name,
                    "res_id": run.id,
                    "raw": data,
                    "mimetype": "application/zip" if data[:2] == b"PK" else "text/csv",
                }
                for name, data in files
            ]
        )
        run.action_start()
        summary.update(run.summary())
        return summary
