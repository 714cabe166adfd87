"""Patient attachments migrated as files on the patient's lead, verified byte for byte."""

import hashlib

from ..migration.attachments import clean_mimetype, map_attachment
from ..migration.values import link_id, parse_datetime
from ..tools.sandbox_clinic import png_bytes
from .test_history import HistoryCase


def test_a_charset_and_case_are_stripped_from_a_content_type():
    assert clean_mimetype("Text/Plain; charset=UTF-8") == "text/plain"
    assert clean_mimetype("image/png") == "image/png"
    assert clean_mimetype("") is None
    assert clean_mimetype(None) is None


def test_an_attachment_maps_to_its_file_values_link_and_size():
    mapped = map_attachment(
        {
            "id": "7",
            "created_at": "2017-12-31T15:32:58Z",
            "filename": "the-name-of-the-file.txt",
            "content_type": "text/plain",
            "size": "14936",
            "description": None,
            "content": {
                "links": {"self": "https://api.au1.cliniko.com/v1/patient_attachments/7/content"}
            },
        }
    )
    assert mapped["url"] == "https://api.au1.cliniko.com/v1/patient_attachments/7/content"
    assert mapped["size"] == 14936
    values = mapped["attachment"]
    assert values["name"] == "the-name-of-the-file.txt"
    assert values["mimetype"] == "text/plain"
    assert values["res_model"] == "crm.lead"
    assert values["description"] is False
    assert str(values["cliniko_created_at"]) == "2017-12-31 15:32:58"
    bare = map_attachment({"id": "8"})
    assert bare["url"] == "/patient_attachments/8/content"
    assert bare["size"] is None
    assert bare["attachment"]["name"] == "cliniko-attachment-8"
    assert "mimetype" not in bare["attachment"]


class TestAttachmentMigration(HistoryCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        clinic = cls.sandbox.clinic
        regular = clinic.edge_cases["regular_patient"]
        # An image wider than Odoo's 1920 px resize limit: must arrive unchanged.
        cls.wide_image = clinic.add_attachment(
            regular, "panorama.png", "image/png", png_bytes(2100, 4, (10, 120, 200)), "Wide scan"
        )["id"]
        cls.charset_text = clinic.add_attachment(
            regular, "letter.txt", "text/plain; charset=utf-8", "Zoë — Ōtsuka\n".encode()
        )["id"]
        cls.wrong_size = clinic.add_attachment(
            regular, "scan.pdf", "application/pdf", b"%PDF-1.4 truncated"
        )["id"]
        clinic.resources["patient_attachments"][cls.wrong_size]["size"] += 7
        cls.of_deleted_patient = clinic.add_attachment(
            clinic.edge_cases["deleted_patient"], "x.txt", "text/plain", b"not migrated"
        )["id"]
        cls.processing = clinic.create(
            "patient_attachments", patient_id=regular, processing_completed=False
        )["id"]
        cls.gone = clinic.create(
            "patient_attachments",
            patient_id=regular,
            filename="gone.txt",
            content_type="text/plain",
            size=5,
            processing_completed=True,
        )["id"]
        clinic.touch()
        cls.before = cls.row_counts(("ir.attachment",))["ir.attachment"]
        # only the files and what they depend on (patients): the tests are about the files
        cls.history_run = cls.migrate_clinic(resources="patient_attachments")

    def attachment(self, cliniko_id):
        found = self.bound("patient_attachments", cliniko_id)
        return found if found is not None else self.env["ir.attachment"]

    def migrated_ids(self):
        failing = {self.wrong_size, self.of_deleted_patient, self.processing, self.gone}
        migrated = self.migrated_patient_ids()
        return {
            aid
            for aid, source in self.sources("patient_attachments").items()
            if aid not in failing and link_id(source["patient"]) in migrated
        }

    def line(self, cliniko_id):
        return self.audit_lines(self.history_run, "patient_attachments", cliniko_id)

    def test_counters_match_what_cliniko_holds(self):
        self.assertEqual(self.history_run.state, "done", self.history_run.error_message)
        counts = self.history_run.summary()["resources"]["patient_attachments"]
        self.assertEqual(counts["fetched"], len(self.clinic.resources["patient_attachments"]))
        self.assertEqual(counts["created"], len(self.migrated_ids()))
        self.assertEqual(counts["skipped"], 1)
        self.assertEqual(counts["failed"], 3)
        self.assertCountersAddUp(self.history_run)

    def test_each_file_is_on_its_patients_lead_field_by_field(self):
        self.assertGreaterEqual(len(self.migrated_ids()), 5)
        for cliniko_id in self.migrated_ids():
            source = self.source("patient_attachments", cliniko_id)
            data = self.clinic.files[cliniko_id]
            attachment = self.attachment(cliniko_id)
            with self.subTest(attachment=cliniko_id):
                lead = self.patient_lead(link_id(source["patient"]))
                self.assertEqual((attachment.res_model, attachment.res_id), ("crm.lead", lead.id))
                self.assertEqual(attachment.name, source["filename"])
                self.assertEqual(attachment.mimetype, source["content_type"].split(";")[0])
                self.assertEqual(attachment.description or None, source["description"])
                self.assertEqual(
                    attachment.cliniko_created_at, parse_datetime(source["created_at"])
                )
                self.assertEqual(attachment.raw, data)
                self.assertEqual(attachment.file_size, source["size"])
                self.assertEqual(attachment.cliniko_sha256, hashlib.sha256(data).hexdigest())
                self.assertIn(attachment, lead.cliniko_attachment_ids)

    def test_the_planted_png_pdf_and_text_files_arrive_intact(self):
        for kind, cliniko_id in self.clinic.edge_cases["attachments"].items():
            with self.subTest(kind=kind):
                self.assertEqual(self.attachment(cliniko_id).raw, self.clinic.files[cliniko_id])

    def test_a_wide_image_is_kept_byte_for_byte(self):
        attachment = self.attachment(self.wide_image)
        self.assertEqual(attachment.raw, self.clinic.files[self.wide_image])
        self.assertEqual(attachment.mimetype, "image/png")

    def test_a_charset_is_stripped_from_the_mimetype(self):
        attachment = self.attachment(self.charset_text)
        self.assertEqual(attachment.mimetype, "text/plain")
        self.assertEqual(attachment.raw.decode(), "Zoë — Ōtsuka\n")

    def test_a_size_mismatch_fails_and_leaves_no_file(self):
        line = self.line(self.wrong_size)
        self.assertEqual(line.action, "fail")
        self.assertIn("size mismatch", line.message)
        self.assertFalse(self.attachment(self.wrong_size))
        self.assertFalse(self.env["ir.attachment"].search([("name", "=", "scan.pdf")]))

    def test_a_file_of_a_patient_not_migrated_fails_with_the_reason(self):
        line = self.line(self.of_deleted_patient)
        self.assertEqual(line.action, "fail")
        self.assertIn("was not migrated", line.message)
        self.assertFalse(self.env["ir.attachment"].search([("name", "=", "x.txt")]))

    def test_a_file_still_processing_is_skipped_with_the_reason(self):
        line = self.line(self.processing)
        self.assertEqual(line.action, "skip")
        self.assertIn("still being processed", line.message)

    def test_a_file_cliniko_no_longer_serves_fails_with_the_reason(self):
        line = self.line(self.gone)
        self.assertEqual(line.action, "fail")
        self.assertIn("no longer serves", line.message)
        self.assertFalse(self.env["ir.attachment"].search([("name", "=", "gone.txt")]))

    def test_running_again_downloads_and_creates_nothing(self):
        count = self.row_counts(("ir.attachment",))["ir.attachment"]
        log = self.sandbox.requests_log
        start = len(log)
        run = self.migrate_clinic(resources="patient_attachments")
        migrated = {"/v1/patient_attachments/%s/content" % aid for aid in self.migrated_ids()}
        self.assertFalse([r for r in log[start:] if r["path"] in migrated])
        self.assertTrue([r for r in log[start:] if r["path"].endswith("/content")], "retried")
        counts = run.summary()["resources"]["patient_attachments"]
        self.assertEqual(counts["created"], 0)
        self.assertEqual(self.row_counts(("ir.attachment",))["ir.attachment"], count)

    def test_rollback_removes_the_files(self):
        self.history_run.action_rollback()
        self.assertEqual(self.row_counts(("ir.attachment",))["ir.attachment"], self.before)
        for cliniko_id in self.migrated_ids():
            self.assertFalse(self.attachment(cliniko_id))
