"""Cliniko's patients Data Export (CSV) as a second source, in a real database, against the
sandbox's clinic over HTTP and the export file the sandbox writes of that same clinic.

One import (and at most one API run) per class, in ``setUpClass``; tests that change data run
only what they need, inside their own savepoint."""

import csv
import io
import time

from odoo import fields
from odoo.exceptions import UserError

from ..migration import exports
from ..tools import sandbox_exports
from .common import ClinikoSandboxCase


def export_file(clinic, **options):
    return sandbox_exports.file_name(clinic), sandbox_exports.patients_csv(clinic, **options)


class ExportCase(ClinikoSandboxCase):
    @classmethod
    def import_exports(cls, files, connection=None, **options):
        options.setdefault("accept_proposed_map", True)
        summary = (
            (connection or cls.connection)
            .with_context(cliniko_run_now=True)
            .cliniko_import_exports(files, **options)
        )
        run = cls.env["cliniko.migration.run"].browse(summary.get("run_id"))
        return summary, run

    @classmethod
    def exported(cls):
        return sandbox_exports.export_patients(cls.sandbox.clinic)

    @classmethod
    def counts(cls, connection=None):
        connection = connection or cls.connection
        refs = cls.env["cliniko.external.ref"].search(
            [("connection_id", "=", connection.id), ("resource", "=", "patients")]
        )
        leads = (
            cls.env["crm.lead"]
            .with_context(active_test=False)
            .search([("cliniko_connection_id", "=", connection.id)])
        )
        partners = (
            cls.env["res.partner"]
            .with_context(active_test=False)
            .search([("cliniko_patient_id", "!=", False)])
        )
        return {"refs": len(refs), "leads": len(leads), "partners": len(partners)}

    def lead_of(self, patient_id, connection=None):
        ref = self.env["cliniko.external.ref"].search(
            [
                ("connection_id", "=", (connection or self.connection).id),
                ("resource", "=", "patients"),
                ("cliniko_id", "=", patient_id),
            ]
        )
        partner = self.env["res.partner"].with_context(active_test=False).browse(ref.res_id)
        return self.env["crm.lead"]._cliniko_patient_leads(partner).get(partner.id)


class TestExportAfterApiRun(ExportCase):
    """The API migrated the patients first; the patients export adds the account credit."""

    sandbox_options = {"seed": 3, "patients": 8}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api_run = cls.start_run(resources="patients")
        assert cls.api_run.state == "done", cls.api_run.error_message
        cls.before = cls.counts()
        cls.files = [export_file(cls.sandbox.clinic)]
        cls.summary, cls.export_run = cls.import_exports(cls.files)

    def test_run_is_done_and_creates_nothing(self):
        self.assertEqual(self.export_run.state, "done", self.export_run.error_message)
        self.assertEqual(self.export_run.run_type, "export")
        self.assertEqual(self.counts(), self.before)
        line = self.export_run.resource_ids.filtered(lambda line: line.resource == "patients")
        self.assertEqual(line.created, 0)
        self.assertEqual(line.failed, 0)
        self.assertCountersAddUp(self.export_run)

    def test_figures(self):
        stats = self.export_run.export_stats
        rows = len(self.exported())
        self.assertEqual(stats["rows"], rows)
        self.assertEqual(stats["matched"], rows)
        self.assertEqual(stats["created"], 0)
        self.assertEqual(stats["failed"], 0)
        self.assertEqual(stats["enriched"] + stats["unchanged"], rows)
        self.assertGreater(stats["enriched"], 0)
        self.assertIn("%s rows: %s matched" % (rows, rows), self.export_run.export_figures)

    def test_account_credit_lands_on_the_lead(self):
        clinic = self.sandbox.clinic
        as_of = clinic.now.date()
        with_credit = 0
        for patient in self.exported():
            credit = sandbox_exports.account_credit(clinic.seed, patient["id"])
            lead = self.lead_of(patient["id"])
            self.assertTrue(lead, patient["id"])
            self.assertAlmostEqual(lead.cliniko_account_credit, float(credit or 0))
            self.assertEqual(lead.cliniko_account_credit_date, as_of)
            with_credit += bool(credit)
        self.assertGreater(with_credit, 0, "the sandbox gives some patients a credit")

    def test_only_what_the_file_adds_is_written(self):
        # the file holds the same patients as the API: an update writes only the file's own
        # fields (and its unknown column, in the custom fields), nothing the API wrote
        lines = self.env["cliniko.audit.log"].search(
            [("run_id", "=", self.export_run.id), ("action", "=", "update")]
        )
        self.assertTrue(lines)
        written = set()
        for line in lines:
            written |= set((line.previous_values or {}).get("values") or {})
        self.assertLessEqual(
            written,
            {
                "cliniko_account_credit",
                "cliniko_account_credit_date",
                "cliniko_last_appointment_date",
                "cliniko_next_appointment_date",
                "cliniko_custom_fields",
            },
        )
        credits = [p for p in self.exported() if self.lead_of(p["id"]).cliniko_account_credit]
        self.assertEqual(self.export_run.export_stats["with_credit"], len(credits))

    def test_a_row_newer_than_the_api_writes_its_fields(self):
        name, data = self.files[0]
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        header = rows[0]
        row = rows[1]
        row[header.index("City")] = "Bendigo"
        row[header.index("Updated At")] = "01/12/2030 10:00:00"
        buffer = io.StringIO(newline="")
        csv.writer(buffer).writerows(rows)
        summary, run = self.import_exports([(name, buffer.getvalue().encode())])
        self.assertEqual(run.state, "done", run.error_message)
        self.assertEqual(run.export_stats["created"], 0)
        patient_id = exports.unwrap(row[header.index("Patient ID")])
        lead = self.lead_of(patient_id)
        self.assertEqual(lead.partner_id.city, "Bendigo")
        self.assertEqual(self.counts(), self.before)

    def test_last_and_next_appointment_dates(self):
        last, following = sandbox_exports.appointment_dates(self.sandbox.clinic)
        for patient in self.exported():
            lead = self.lead_of(patient["id"])
            self.assertEqual(
                fields.Date.to_string(lead.cliniko_last_appointment_date) or "",
                last.get(patient["id"], ""),
            )
            self.assertEqual(
                fields.Date.to_string(lead.cliniko_next_appointment_date) or "",
                following.get(patient["id"], ""),
            )

    def test_appointments_from_the_api_take_the_place_of_the_files_dates(self):
        # The API migrates the appointments: for a patient with appointment leads, the file's
        # last and next dates are no longer kept (the first import wrote them, the next empties
        # them); for one without, they still are.
        api_run = self.migrate(resources="individual_appointments")
        self.assertEqual(api_run.state, "done", api_run.error_message)
        visited = set(
            self.env["crm.lead"]
            .with_context(active_test=False)
            .search(
                [
                    ("cliniko_connection_id", "=", self.connection.id),
                    ("cliniko_lead_kind", "=", "appointment"),
                ]
            )
            .mapped("cliniko_patient_id")
        )
        last, following = sandbox_exports.appointment_dates(self.sandbox.clinic)
        dated = {pid for pid in visited if last.get(pid) or following.get(pid)}
        self.assertTrue(dated, "some patients with appointments have dates in the file")
        self.assertTrue(
            any(self.lead_of(pid).cliniko_last_appointment_date for pid in dated)
            or any(self.lead_of(pid).cliniko_next_appointment_date for pid in dated),
            "the first import wrote their dates",
        )
        _summary, run = self.import_exports(self.files)
        self.assertEqual(run.state, "done", run.error_message)
        self.assertGreaterEqual(run.export_stats["enriched"], 1)
        for patient in self.exported():
            lead = self.lead_of(patient["id"])
            if patient["id"] in visited:
                wanted = ("", "")
            else:
                wanted = (last.get(patient["id"], ""), following.get(patient["id"], ""))
            got = (
                fields.Date.to_string(lead.cliniko_last_appointment_date) or "",
                fields.Date.to_string(lead.cliniko_next_appointment_date) or "",
            )
            self.assertEqual(got, wanted, patient["id"])
        self.assertEqual(run.export_stats["created"], 0)

    def test_api_values_are_kept(self):
        # what only the API has (here the concession type and the consents) stays as it was
        api = self.sandbox.clinic.resources["patients"]
        for patient in self.exported():
            lead = self.lead_of(patient["id"])
            self.assertEqual(
                lead.cliniko_receives_confirmation_emails,
                bool(api[patient["id"]]["receives_confirmation_emails"]),
            )
            concession = api[patient["id"]].get("concession_type_id")
            self.assertEqual(bool(lead.cliniko_concession_type), bool(concession))

    def test_the_map_was_proposed_and_is_reused(self):
        maps = self.export_run.export_map_ids
        self.assertEqual(len(maps), 1)
        self.assertEqual(maps.state, "confirmed")
        by_header = {line.header: line for line in maps.line_ids}
        self.assertEqual(by_header["Patient ID"].target, "id")
        self.assertTrue(by_header["Unapplied Account Credit"].header_confirmed)
        self.assertFalse(by_header["Email"].header_confirmed)
        # the sandbox's "Concession" column is unknown: listed, kept in the custom fields
        self.assertEqual(by_header["Concession"].target, exports.CUSTOM)
        self.assertIn("Concession", self.summary["files"][0]["unknown_columns"])
        # the same headers again: the confirmed map, without asking
        summary, _run = self.import_exports(self.files, accept_proposed_map=False)
        self.assertEqual(summary["files"][0]["map_id"], maps.id)

    def test_reimport_creates_and_changes_nothing(self):
        summary, run = self.import_exports(self.files)
        self.assertEqual(run.state, "done", run.error_message)
        stats = run.export_stats
        self.assertEqual(stats["created"], 0)
        self.assertEqual(stats["enriched"], 0)
        self.assertEqual(stats["unchanged"], len(self.exported()))
        self.assertEqual(self.counts(), self.before)

    def test_rollback_returns_to_the_api_state(self):
        self.export_run.action_rollback()
        self.assertEqual(self.export_run.state, "rolled_back")
        self.assertEqual(self.counts(), self.before)
        for patient in self.exported():
            lead = self.lead_of(patient["id"])
            self.assertFalse(lead.cliniko_account_credit)
            self.assertFalse(lead.cliniko_account_credit_date)
            self.assertFalse(lead.cliniko_last_appointment_date)


class TestExportAlone(ExportCase):
    """A clinic without API access: the patients export is the only source."""

    sandbox_options = {"seed": 5, "patients": 6}
    # What the API has and the file does not (exports.API_ONLY): lead fields left out of the
    # comparison, each for a reason.
    API_ONLY_FIELDS = {
        "cliniko_custom_fields": "the clinic's own patient fields (the file's unknown "
        "columns become a 'Data export' section instead)",
        "cliniko_concession_type": "a link to the concession types",
        "cliniko_receives_confirmation_emails": "consent",
        "cliniko_accepted_privacy_policy": "consent",
        "cliniko_accepted_email_marketing": "consent",
        "cliniko_accepted_sms_marketing": "consent",
        "cliniko_referring_doctor_id": "a link to the contacts",
        "cliniko_insurer_id": "a link to the contacts",
        "cliniko_gender": "no column in the sandbox's layout",
        "cliniko_pronouns": "no column in the sandbox's layout",
        "cliniko_time_zone": "no column in the sandbox's layout",
        "cliniko_reminder_type": "no column in the sandbox's layout",
        "cliniko_invoice_to": "no column in the sandbox's layout",
        "cliniko_invoice_email": "no column in the sandbox's layout",
        "cliniko_invoice_extra_info": "no column in the sandbox's layout",
        "cliniko_appointment_notes": "no column in the sandbox's layout",
    }
    COMPARED = (
        "name",
        "contact_name",
        "email_from",
        "phone",
        "cliniko_first_name",
        "cliniko_last_name",
        "cliniko_title",
        "cliniko_preferred_name",
        "cliniko_phone_numbers",
        "cliniko_date_of_birth",
        "cliniko_created_at",
        "cliniko_updated_at",
        "cliniko_medicare_number",
        "cliniko_medicare_irn",
        "cliniko_dva_number",
        "cliniko_referral_source",
        "cliniko_emergency_contact",
        "cliniko_sex",
        "cliniko_gender_identity",
        "cliniko_old_reference_id",
        "country_id",
        "state_id",
        "function",
        "description",
    )
    PARTNER_COMPARED = ("name", "email", "phone", "street", "street2", "city", "zip", "comment")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.connection.country_id = cls.env.ref("base.au")
        cls.files = [export_file(cls.sandbox.clinic)]
        cls.summary, cls.export_run = cls.import_exports(cls.files)

    def test_patients_are_created_and_bound(self):
        self.assertEqual(self.export_run.state, "done", self.export_run.error_message)
        rows = len(self.exported())
        self.assertEqual(self.export_run.export_stats["created"], rows)
        self.assertEqual(self.counts()["refs"], rows)
        for patient in self.exported():
            lead = self.lead_of(patient["id"])
            self.assertEqual(lead.cliniko_lead_kind, "patient")
            self.assertEqual(lead.partner_id.cliniko_patient_id, patient["id"])

    def test_same_values_as_the_api_except_what_only_the_api_has(self):
        api_connection = self.connection.copy({"name": "Same clinic through the API"})
        api_connection.api_key = self.sandbox.api_key
        api_connection.base_url = self.sandbox.base_url
        api_connection.country_id = self.connection.country_id
        run = self.migrate(api_connection, resources="patients")
        self.assertEqual(run.state, "done", run.error_message)
        self.assertTrue(self.summary["api_only"])
        differences = []
        for patient in self.exported():
            from_file = self.lead_of(patient["id"])
            from_api = self.lead_of(patient["id"], api_connection)
            for name in self.COMPARED:
                if from_file[name] != from_api[name]:
                    differences.append((patient["id"], name, from_file[name], from_api[name]))
            for name in self.PARTNER_COMPARED:
                if from_file.partner_id[name] != from_api.partner_id[name]:
                    differences.append((patient["id"], "partner." + name))
        self.assertEqual(differences, [])
        for name in self.API_ONLY_FIELDS:
            self.assertIn(name, self.env["crm.lead"]._fields)

    def test_an_api_run_after_the_file_updates_its_records(self):
        before = self.counts()
        self.connection.api_key = self.sandbox.api_key
        self.connection.base_url = self.sandbox.base_url
        run = self.migrate(resources="patients")
        self.assertEqual(run.state, "done", run.error_message)
        line = run.resource_ids.filtered(lambda line: line.resource == "patients")
        self.assertEqual(line.created, 0)
        self.assertEqual(line.updated, len(self.exported()))
        self.assertEqual(self.counts(), before)
        api = self.sandbox.clinic.resources["patients"]
        for patient in self.exported():
            lead = self.lead_of(patient["id"])
            self.assertEqual(
                lead.cliniko_receives_confirmation_emails,
                bool(api[patient["id"]]["receives_confirmation_emails"]),
            )
            credit = sandbox_exports.account_credit(self.sandbox.clinic.seed, patient["id"])
            self.assertAlmostEqual(lead.cliniko_account_credit, float(credit or 0))

    def test_a_delta_after_the_file_updates_its_records(self):
        # API access came later: a full run (businesses, cheap) then a window from now on
        self.connection.api_key = self.sandbox.api_key
        self.connection.base_url = self.sandbox.base_url
        full = self.migrate(resources="businesses")
        self.assertEqual(full.state, "done", full.error_message)
        self.connection.sudo().delta_watermark = fields.Datetime.now()
        clinic = self.sandbox.clinic
        clinic.now = max(time.time() + 1, clinic.now.timestamp() + 1)
        patient = self.exported()[0]
        stored = clinic.resources["patients"][patient["id"]]
        original = dict(stored)
        self.addCleanup(lambda: (stored.clear(), stored.update(original), clinic.touch()))
        clinic.update("patients", patient["id"], city="Ballarat", occupation="Luthier")
        before = self.counts()
        summary = self.connection.with_context(cliniko_run_now=True).cliniko_delta_sync()
        self.assertEqual(summary["state"], "done", summary.get("error"))
        self.assertEqual(summary["resources"]["patients"]["updated"], 1)
        lead = self.lead_of(patient["id"])
        self.assertEqual(lead.partner_id.city, "Ballarat")
        self.assertEqual(lead.function, "Luthier")
        self.assertEqual(self.counts(), before)

    def test_rollback_returns_to_baseline(self):
        self.export_run.action_rollback()
        self.assertEqual(self.counts(), {"refs": 0, "leads": 0, "partners": 0})


class TestBadRows(ExportCase):
    """Rows that cannot be read fail one by one, with their row number; the others import."""

    sandbox_options = {"seed": 6, "patients": 5}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        name, data = export_file(cls.sandbox.clinic, bom=False, escape_ids="none")
        header = data.split(b"\r\n", 1)[0].decode().split(",")
        cls.good = len(cls.exported())
        bad_date = ["x"] * len(header)
        bad_date[0] = "9000001"
        bad_date[header.index("Date of Birth")] = "31/02/1980"
        bad_id = ["abc", *(["y"] * (len(header) - 1))]
        first = list(csv.reader(io.StringIO(data.decode(), newline="")))[1]
        again = io.StringIO(newline="")
        csv.writer(again, lineterminator="").writerow(first)
        bad_rows = [
            b"1,2,3",  # ragged
            ",".join(bad_date).encode(),
            ",".join(bad_id).encode(),
            b"9000002,Mr,Z\xe9" + b"," * (len(header) - 3),  # Latin-1, not UTF-8
            again.getvalue().encode(),  # the first patient twice
        ]
        data = data + b"\r\n".join(bad_rows) + b"\r\n"
        cls.summary, cls.export_run = cls.import_exports([(name, data)])
        cls.first_bad = cls.good + 2

    def test_the_good_rows_import_and_the_bad_ones_fail_with_their_row(self):
        self.assertEqual(self.export_run.state, "done", self.export_run.error_message)
        stats = self.export_run.export_stats
        self.assertEqual(stats["created"], self.good)
        self.assertEqual(stats["failed"], 5)
        messages = (
            self.env["cliniko.audit.log"]
            .search([("run_id", "=", self.export_run.id), ("action", "=", "fail")])
            .mapped("message")
        )
        wanted = {
            self.first_bad: "ragged row",
            self.first_bad + 1: "is not a date in either order",
            self.first_bad + 2: "is not a number",
            self.first_bad + 3: "not UTF-8",
            self.first_bad + 4: "Patient ID also on row 2",
        }
        for row, reason in wanted.items():
            self.assertTrue(
                any("row %s:" % row in message and reason in message for message in messages),
                (row, reason, messages),
            )

    def test_an_unknown_file_is_refused_in_words(self):
        with self.assertRaisesRegex(UserError, "does not read"):
            self.import_exports([("Invoices-Cliniko-20260101.csv", b"Invoice ID,Total\r\n1,2\r\n")])
        with self.assertRaisesRegex(UserError, "not a Cliniko Data Export"):
            self.import_exports([("notes.csv", b"Colour,Size\r\nred,2\r\n")])

    def test_the_wizard_reads_proposes_and_imports(self):
        other = self.connection.copy({"name": "Through the wizard"})
        name, data = export_file(self.sandbox.clinic, date_order="mdy")
        attachment = self.env["ir.attachment"].create({"name": name, "raw": data})
        wizard = self.env["cliniko.export.import.wizard"].create(
            {"connection_id": other.id, "attachment_ids": [(6, 0, attachment.ids)]}
        )
        wizard.action_read()
        self.assertEqual(wizard.step, "review")
        self.assertEqual(wizard.date_order, "mdy")
        self.assertIn("month/day", wizard.report)
        self.assertEqual(wizard.map_ids.state, "draft")
        self.assertEqual(self.counts(other)["refs"], 0)  # nothing moved yet
        # the admin sends the unknown column nowhere
        wizard.line_ids.filtered(lambda line: line.header == "Concession").target = "skip"
        action = wizard.with_context(cliniko_run_now=True).action_import()
        run = self.env["cliniko.migration.run"].browse(action["res_id"])
        self.assertEqual(run.state, "done", run.error_message)
        self.assertEqual(wizard.map_ids.state, "confirmed")
        self.assertEqual(self.counts(other)["refs"], self.good)
        first = self.exported()[0]
        lead = self.lead_of(first["id"], other)
        self.assertEqual(str(lead.cliniko_date_of_birth or ""), first["date_of_birth"] or "")
        self.assertFalse(lead.cliniko_custom_fields)

    def test_nothing_moves_before_the_map_is_confirmed(self):
        other = self.connection.copy({"name": "Unconfirmed"})
        summary, run = self.import_exports(
            [export_file(self.sandbox.clinic)], connection=other, accept_proposed_map=False
        )
        self.assertEqual(summary["state"], "needs_confirmation")
        self.assertFalse(run)
        self.assertEqual(self.counts(other)["refs"], 0)
