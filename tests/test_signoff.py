"""The sign-off diff (issue 13, item 6): verification compares patients, appointments, history,
files and invoices with what the independent rules (``migration/expectations.py``) derive from
Cliniko's records, prints as a PDF, exports to XLSX with the mismatches first, and records the
admin's acknowledgement; a salesman reads none of it."""

import io
import re
import zipfile
from datetime import timedelta

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase

from .common import ClinikoSandboxCase
from .test_clinical_access import user
from .test_connect import make_manager

try:
    import openpyxl
except ImportError:  # the zip's sheet XML is read instead
    openpyxl = None

REPORT = "cliniko_crm_migration.action_report_cliniko_signoff"
# What the sign-off compares, per resource, from Cliniko's record (basis "cliniko").
COVERED = {
    "patients": {"name", "email", "phone", "city", "cliniko_date_of_birth", "cliniko_first_name"},
    "individual_appointments": {
        "stage_id",
        "cliniko_appointment_type_id",
        "user_id",
        "cliniko_starts_at",
        "cliniko_ends_at",
        "start",
        "stop",
    },
    "treatment_notes": {"date", "body"},
    "communications": {"date", "body"},
    "patient_forms": {"date", "body"},
    "patient_attachments": {"name", "file_size", "content_sha256"},
    "invoices": {"number", "total_amount", "status"},
}


class TestSignOff(ClinikoSandboxCase, HttpCase):
    """One full migration in ``setUpClass``; each test alters and verifies in its own savepoint."""

    sandbox_options = {"seed": 1, "patients": 12}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.migration = cls.start_run()
        cls.salesman = user(cls.env, "sam", "base.group_user", "sales_team.group_sale_salesman")
        cls.manager = make_manager(cls.env)
        cls.manager.password = "manager-password"

    def verified(self):
        run = self.migration
        self.assertEqual(run.state, "done", run.error_message)
        run.cliniko_verify()
        return run

    def visit_lead(self):
        return (
            self.env["crm.lead"]
            .with_context(active_test=False)
            .search([("cliniko_lead_kind", "=", "appointment"), ("cliniko_is_group", "=", False)])
            .filtered(lambda lead: lead.cliniko_ends_at)[:1]
        )

    def note_message(self):
        ref = self.env["cliniko.external.ref"].search(
            [("resource", "=", "treatment_notes"), ("res_model", "=", "mail.message")], limit=1
        )
        return self.env["mail.message"].browse(ref.res_id), ref.cliniko_id

    # -- what is compared, and from where --------------------------------------------------
    def test_a_clean_run_matches_every_covered_resource_from_clinikos_records(self):
        run = self.verified()
        self.assertFalse(
            run.verification_mismatch_ids,
            run.verification_mismatch_ids.mapped(
                lambda line: (line.resource, line.field_name, line.expected, line.actual)
            ),
        )
        ruled = run.verification_check_ids.filtered(lambda line: line.basis == "cliniko")
        for resource, wanted in COVERED.items():
            lines = ruled.filtered(lambda line, name=resource: line.resource == name)
            with self.subTest(resource=resource):
                self.assertLessEqual(wanted, set(lines.mapped("field_name")))
                for line in lines:
                    self.assertGreater(line.checked, 0, line.field_name)
                    self.assertEqual(line.matched, line.checked, line.field_name)
        # every migrated note, visit and file is compared, not a few
        refs = self.env["cliniko.external.ref"]
        for resource, field in (
            ("treatment_notes", "body"),
            ("individual_appointments", "cliniko_ends_at"),
            ("patient_attachments", "content_sha256"),
        ):
            line = ruled.filtered(
                lambda line, r=resource, f=field: line.resource == r and line.field_name == f
            )
            bound = refs.search_count(
                [("resource", "=", resource), ("connection_id", "=", self.connection.id)]
            )
            self.assertEqual(line.checked, bound, resource)
        data = run._cliniko_signoff_data()
        self.assertEqual(data["mismatches"], [])
        self.assertTrue(all(row["mismatched"] == 0 for row in data["summary"]))

    def test_an_altered_stop_time_and_note_body_show_as_mismatches_at_the_top(self):
        lead = self.visit_lead()
        lead.cliniko_ends_at = lead.cliniko_ends_at + timedelta(minutes=45)
        message, note_id = self.note_message()
        message.sudo().body = "<p>Rewritten in Odoo</p>"
        run = self.verified()
        mismatches = run.verification_mismatch_ids
        self.assertEqual(
            set(mismatches.mapped(lambda line: (line.resource, line.res_id, line.field_name))),
            {
                ("individual_appointments", lead.id, "cliniko_ends_at"),
                ("treatment_notes", message.id, "body"),
            },
        )
        self.assertEqual(set(mismatches.mapped("basis")), {"cliniko"})
        note = mismatches.filtered(lambda line: line.field_name == "body")
        self.assertEqual((note.cliniko_id, note.actual), (note_id, "Rewritten in Odoo"))
        data = run._cliniko_signoff_data()
        self.assertEqual(
            {(row["resource"], row["field"]) for row in data["mismatches"][:2]},
            {("individual_appointments", "cliniko_ends_at"), ("treatment_notes", "body")},
        )
        self.assertFalse(run.verified)

    def test_a_moved_stage_or_another_practitioner_is_a_mismatch(self):
        lead = self.visit_lead()
        other = self.env["crm.stage"].search(
            [("cliniko_status", "!=", False), ("id", "!=", lead.stage_id.id)], limit=1
        )
        lead.write({"stage_id": other.id, "user_id": self.manager.id})
        run = self.verified()
        fields = set(
            run.verification_mismatch_ids.filtered(lambda line: line.res_id == lead.id).mapped(
                "field_name"
            )
        )
        self.assertEqual(fields, {"stage_id", "user_id"})

    # -- the PDF --------------------------------------------------------------------------
    def test_the_report_prints_summary_mismatches_then_matches_escaped(self):
        partner = self.migrated_partners().filtered("city")[:1]
        partner.city = "<script>alert('city')</script>"
        run = self.verified()
        Report = self.env["ir.actions.report"]
        if Report.get_wkhtmltopdf_state() == "ok":
            # Under tests Odoo hands back the HTML instead unless the rendering is forced
            pdf, kind = Report.with_context(force_report_rendering=True)._render_qweb_pdf(
                REPORT, run.ids
            )
            self.assertEqual(kind, "pdf")
            self.assertTrue(pdf.startswith(b"%PDF"))
        # wkhtmltopdf is missing on this machine: the HTML the PDF is made from is checked
        html, kind = Report._render_qweb_html(REPORT, run.ids)
        self.assertEqual(kind, "html")
        html = html.decode()
        summary = html.index("Summary per resource")
        mismatches = html.index("Mismatches (1)")
        matches = html.index('class="o_cliniko_signoff_matches"')
        self.assertLess(summary, mismatches)
        self.assertLess(mismatches, matches)
        self.assertNotIn("<script>alert", html)
        self.assertIn("&lt;script&gt;alert(", html)
        self.assertIn("Patients", html[summary:mismatches])
        self.assertIn("cliniko_ends_at", html[matches:])
        self.assertIn("Not acknowledged yet", html)
        self.assertNotRegex(html, r"\.Not acknowledged", "the sentence runs into the previous one")

    # -- the XLSX -------------------------------------------------------------------------
    def test_the_xlsx_export_lists_the_mismatches_first(self):
        lead = self.visit_lead()
        lead.cliniko_ends_at = lead.cliniko_ends_at + timedelta(hours=1)
        run = self.verified()
        action = run.action_export_signoff_xlsx()
        self.authenticate(self.manager.login, "manager-password")
        response = self.url_open(action["url"])
        self.assertEqual(response.status_code, 200)
        self.assertIn("spreadsheetml", response.headers["Content-Type"])
        rows = _sheet_rows(response.content, "Fields")
        self.assertEqual(rows[0][0], "Result")
        self.assertEqual(rows[1][0], "mismatch")
        self.assertEqual(rows[1][5], "cliniko_ends_at")
        self.assertEqual(rows[1][2], lead.cliniko_appointment_id)
        results = [row[0] for row in rows[1:]]
        self.assertEqual(results.count("mismatch"), 1)
        self.assertEqual(set(results[1:]), {"match"})
        self.assertGreater(len(results), 20)
        summary = _sheet_rows(response.content, "Summary")
        self.assertIn("Patients", [row[0] for row in summary])

    def test_a_value_like_a_formula_stays_text_in_the_xlsx(self):
        partner = self.migrated_partners().filtered("city")[:1]
        partner.city = '=HYPERLINK("http://evil.example","x")'
        run = self.verified()
        content = run._cliniko_signoff_xlsx()
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            sheet = archive.read("xl/worksheets/sheet2.xml").decode()
            strings = archive.read("xl/sharedStrings.xml").decode()
        self.assertNotIn("<f>", sheet, "no formula cell")
        self.assertIn("=HYPERLINK(", strings)

    # -- the acknowledgement ----------------------------------------------------------------
    def test_the_acknowledgement_waits_for_the_verification_and_is_stored_and_audited(self):
        run = self.migration
        with self.assertRaises(UserError):
            run.action_acknowledge_signoff()
        lead = self.visit_lead()
        lead.cliniko_ends_at = lead.cliniko_ends_at + timedelta(minutes=5)
        run.cliniko_verify()
        self.assertFalse(run.verified)
        run.with_user(self.manager).action_acknowledge_signoff()
        self.assertEqual(run.signoff_acknowledged_by, self.manager)
        self.assertTrue(run.signoff_acknowledged_at)
        self.assertTrue(run.verified, "its mismatch is accepted")
        mismatch = run.verification_mismatch_ids
        self.assertEqual((mismatch.acknowledged, mismatch.acknowledged_by), (True, self.manager))
        audit = self.env["cliniko.audit.log"].search(
            [("run_id", "=", run.id), ("action", "=", "acknowledge")]
        )
        self.assertEqual(len(audit), 1)
        self.assertEqual(audit.create_uid, self.manager)
        self.assertIn("1 mismatch(es) accepted", audit.message)
        with self.assertRaises(UserError):
            run.action_acknowledge_signoff()
        data = run._cliniko_signoff_data()
        self.assertEqual(data["acknowledged_by"], self.manager.name)
        # a new verification needs a new sign-off
        run.cliniko_verify()
        self.assertFalse(run.signoff_acknowledged_by)

    # -- who may read it --------------------------------------------------------------------
    def test_a_salesman_cannot_read_the_report_or_the_export(self):
        run = self.verified()
        report = self.env.ref(REPORT)
        clinical = self.env.ref("cliniko_crm_migration.group_cliniko_clinical")
        self.assertEqual(report.group_ids, clinical)
        as_salesman = self.env["ir.actions.report"].with_user(self.salesman)
        with self.assertRaises(AccessError):
            as_salesman._render_qweb_html(REPORT, run.ids)
        with self.assertRaises(AccessError):
            run.with_user(self.salesman)._cliniko_signoff_data()
        self.authenticate("sam", "sam-password")
        response = self.url_open("/cliniko_crm_migration/signoff/%s.xlsx" % run.id)
        self.assertEqual(response.status_code, 404)
        self.assertNotIn(b"PK", response.content[:2])


def _sheet_rows(content, name):
    """The rows of sheet ``name`` as lists of strings (openpyxl, else the zip's sheet XML)."""
    if openpyxl is not None:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
        return [
            ["" if value is None else str(value) for value in row]
            for row in book[name].iter_rows(values_only=True)
        ]
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        shared = re.findall(r"<t[^>]*>(.*?)</t>", archive.read("xl/sharedStrings.xml").decode())
        index = ["Summary", "Fields"].index(name) + 1
        sheet = archive.read("xl/worksheets/sheet%s.xml" % index).decode()
    rows = []
    for row in re.findall(r"<row[^>]*>(.*?)</row>", sheet):
        cells = []
        for kind, value in re.findall(r'<c [^>]*?(?:t="(\w+)")?[^>]*><v>(.*?)</v></c>', row):
            cells.append(shared[int(value)] if kind == "s" else value)
        rows.append(cells)
    return rows
