"""The sign-off of a run: its verification (else its sample diff) as a PDF and an XLSX file.

Three sections, in this order: the counts per resource, the mismatches (open ones first, then
those acknowledged), then the matches (per resource and field, how many records matched). The
admin's acknowledgement (*Acknowledge*) accepts every open mismatch, stores who and when on the
run and on each line, and writes an audit line; it is refused until a verification has
finished. Patient data is in it: only the clinical group reads it (``_cliniko_signoff_data``
refuses anyone else, and the models are for the migration managers only).
"""

import io

import xlsxwriter

from odoo import fields, models
from odoo.exceptions import AccessError, UserError

from ..migration import graph

CLINICAL_GROUP = "cliniko_crm_migration.group_cliniko_clinical"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ClinikoMigrationRun(models.Model):
    _inherit = "cliniko.migration.run"

    verification_check_ids = fields.One2many(
        "cliniko.verification.check", "run_id", string="Fields Compared"
    )
    signoff_acknowledged_by = fields.Many2one(
        "res.users", string="Signed Off By", readonly=True, copy=False
    )
    signoff_acknowledged_at = fields.Datetime(string="Signed Off At", readonly=True, copy=False)

    # -- acknowledgement -----------------------------------------------------------------------
    def action_acknowledge_signoff(self):
        """The admin accepts the verification as it stands: who and when, audited."""
        for run in self:
            if not run.verified_at:
                raise UserError(
                    self.env._("Verify the run first: there is nothing to sign off yet.")
                )
            if run.signoff_acknowledged_at:
                raise UserError(self.env._("This verification is already signed off."))
            open_lines = run.verification_mismatch_ids.filtered(lambda line: not line.acknowledged)
            open_lines.write({"acknowledged": True})
            now = fields.Datetime.now()
            run.write({"signoff_acknowledged_by": self.env.user.id, "signoff_acknowledged_at": now})
            message = "Sign-off acknowledged by %s (user %s): %s mismatch(es) accepted" % (
                self.env.user.name,
                self.env.user.id,
                len(open_lines),
            )
            self.env["cliniko.audit.log"].sudo().create(
                {
                    "run_id": run.id,
                    "action": "acknowledge",
                    "res_model": run._name,
                    "res_id": run.id,
                    "message": message,
                }
            )
            run._log(message)
        return True

    # -- the report's content --------------------------------------------------------------
    def _cliniko_signoff_data(self):
        """The sign-off's sections as plain values (strings and numbers), for the PDF and the
        XLSX file alike."""
        self.ensure_one()
        if not self.env.user.has_group(CLINICAL_GROUP):
            raise AccessError(self.env._("The sign-off holds patient data: clinical users only."))
        labels = {resource.name: resource.label for resource in graph.GRAPH}
        order = {resource.name: index for index, resource in enumerate(graph.GRAPH)}
        if self.verified_at:
            data = self._cliniko_signoff_verification(labels)
        else:
            data = self._cliniko_signoff_sample(labels)
        data["summary"].sort(key=lambda row: order.get(row["resource"], len(order)))
        data["mismatches"].sort(
            key=lambda row: (
                row["acknowledged"] == "yes",
                order.get(row["resource"], len(order)),
                row["cliniko_id"],
                row["field"],
            )
        )
        data["matches"].sort(
            key=lambda row: (order.get(row["resource"], len(order)), row["model"], row["field"])
        )
        data.update(
            run=self.display_name,
            connection=self.connection_id.name or "",
            acknowledged_by=self.signoff_acknowledged_by.name or "",
            acknowledged_at=_when(self.signoff_acknowledged_at),
        )
        return data

    def _cliniko_signoff_verification(self, labels):
        checks = {}
        for line in self.verification_check_ids:
            counted = checks.setdefault(line.resource, [0, 0])
            counted[0] += line.checked
            counted[1] += line.matched
        summary = []
        for line in self.verification_resource_ids:
            checked, matched = checks.get(line.resource, (0, 0))
            summary.append(
                {
                    "resource": line.resource,
                    "label": labels.get(line.resource, line.resource),
                    "cliniko": str(line.cliniko_count) if line.cliniko_known else "?",
                    "odoo": line.odoo_count,
                    "failed": line.failed,
                    "checked": checked,
                    "matched": matched,
                    "mismatched": checked - matched,
                    "reconciled": "yes" if line.reconciled else "no",
                    "problems": line.problems or "",
                }
            )
        return {
            "kind": "Verification",
            "when": _when(self.verified_at),
            "summary": summary,
            "mismatches": [_mismatch_row(line, labels) for line in self.verification_mismatch_ids],
            "matches": [
                {
                    "resource": line.resource,
                    "label": labels.get(line.resource, line.resource),
                    "model": line.res_model or "",
                    "field": line.field_name or "",
                    "basis": dict(line._fields["basis"].selection).get(line.basis, ""),
                    "matched": line.matched,
                    "checked": line.checked,
                }
                for line in self.verification_check_ids
                if line.matched
            ],
        }

    def _cliniko_signoff_sample(self, labels):
        per_resource, per_field = {}, {}
        for line in self.sample_diff_ids:
            counted = per_resource.setdefault(line.resource, [0, 0])
            counted[0] += 1
            counted[1] += line.match
            key = (line.resource, line.res_model or "", line.field_name or "", line.basis)
            counted = per_field.setdefault(key, [0, 0])
            counted[0] += 1
            counted[1] += line.match
        bases = dict(self.env["cliniko.sample.diff"]._fields["basis"].selection)
        return {
            "kind": "Sample diff",
            "when": _when(max(self.sample_diff_ids.mapped("create_date"), default=False)),
            "summary": [
                {
                    "resource": resource,
                    "label": labels.get(resource, resource),
                    "cliniko": "",
                    "odoo": "",
                    "failed": "",
                    "checked": checked,
                    "matched": matched,
                    "mismatched": checked - matched,
                    "reconciled": "",
                    "problems": "",
                }
                for resource, (checked, matched) in per_resource.items()
            ],
            "mismatches": [
                _mismatch_row(line, labels) for line in self.sample_diff_ids if not line.match
            ],
            "matches": [
                {
                    "resource": resource,
                    "label": labels.get(resource, resource),
                    "model": model,
                    "field": field,
                    "basis": bases.get(basis, ""),
                    "matched": matched,
                    "checked": checked,
                }
                for (resource, model, field, basis), (checked, matched) in per_field.items()
                if matched
            ],
        }

    # -- print and export ------------------------------------------------------------------
    def action_print_signoff(self):
        self.ensure_one()
        self._cliniko_signoff_data()  # refuses early who may not read it
        return self.env.ref("cliniko_crm_migration.action_report_cliniko_signoff").report_action(
            self
        )

    def action_export_signoff_xlsx(self):
        self.ensure_one()
        self._cliniko_signoff_data()
        return {
            "type": "ir.actions.act_url",
            "url": "/cliniko_crm_migration/signoff/%s.xlsx" % self.id,
            "target": "self",
        }

    def _cliniko_signoff_xlsx(self):
        """The sign-off as an XLSX workbook (bytes): a Summary sheet, then a Fields sheet with
        the mismatches first and the matches after them."""
        data = self._cliniko_signoff_data()
        buffer = io.BytesIO()
        # strings_to_formulas off: a value from Cliniko beginning with "=" stays text
        book = xlsxwriter.Workbook(
            buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
        )
        bold = book.add_format({"bold": True})
        summary = book.add_worksheet("Summary")
        summary.write_row(0, 0, ["%s of %s" % (data["kind"], data["run"]), data["when"]], bold)
        summary.write_row(
            1, 0, ["Signed off by", data["acknowledged_by"] or "-", data["acknowledged_at"]]
        )
        head = ["Resource", "In Cliniko", "In Odoo", "Failed", "Compared", "Matched"]
        head += ["Mismatched", "Reconciled", "Problems"]
        summary.write_row(3, 0, head, bold)
        for index, row in enumerate(data["summary"], start=4):
            summary.write_row(
                index,
                0,
                [
                    row["label"],
                    row["cliniko"],
                    row["odoo"],
                    row["failed"],
                    row["checked"],
                    row["matched"],
                    row["mismatched"],
                    row["reconciled"],
                    row["problems"],
                ],
            )
        sheet = book.add_worksheet("Fields")
        sheet.write_row(
            0,
            0,
            [
                "Result",
                "Resource",
                "Cliniko ID",
                "Model",
                "Record ID",
                "Field",
                "Expected from",
                "Expected",
                "Actual",
                "Acknowledged",
                "Records",
            ],
            bold,
        )
        row_index = 1
        for row in data["mismatches"]:
            sheet.write_row(
                row_index,
                0,
                [
                    "mismatch",
                    row["label"],
                    row["cliniko_id"],
                    row["model"],
                    row["res_id"],
                    row["field"],
                    row["basis"],
                    row["expected"],
                    row["actual"],
                    row["acknowledged"],
                    1,
                ],
            )
            row_index += 1
        for row in data["matches"]:
            sheet.write_row(
                row_index,
                0,
                [
                    "match",
                    row["label"],
                    "",
                    row["model"],
                    "",
                    row["field"],
                    row["basis"],
                    "",
                    "",
                    "",
                    row["matched"],
                ],
            )
            row_index += 1
        book.close()
        return buffer.getvalue()


def _when(value):
    return fields.Datetime.to_string(value) if value else ""


def _mismatch_row(line, labels):
    return {
        "resource": line.resource,
        "label": labels.get(line.resource, line.resource),
        "cliniko_id": line.cliniko_id or "",
        "model": line.res_model or "",
        "res_id": line.res_id or "",
        "field": line.field_name or "",
        "basis": dict(line._fields["basis"].selection).get(line.basis, ""),
        "expected": line.expected or "",
        "actual": line.actual or "",
        "acknowledged": "yes" if getattr(line, "acknowledged", False) else "no",
    }
