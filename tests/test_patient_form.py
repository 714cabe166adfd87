"""The patient's form over a real migration: every fact appears once, and no heading stands over
nothing. The form is evaluated as the web client shows it: each ``invisible`` expression of a
field and of its ancestors, against the migrated lead's own values."""

from collections import Counter

from lxml import etree

from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from ..models.crm_lead_patient_form import file_type, same_payer
from .common import ClinikoSandboxCase


@tagged("post_install", "-at_install")
class TestPatientForm(ClinikoSandboxCase):
    sandbox_options = {"seed": 5, "patients": 12}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.form_run = cls.start_run(
            resources="contacts,patients,patient_attachments,medical_alerts,patient_cases,"
            "treatment_notes"
        )
        assert cls.form_run.state == "done", cls.form_run.error_message
        cls.patients = cls.patient_leads(cls)
        cls.arch = etree.fromstring(
            cls.env["crm.lead"].get_views([(False, "form")])["views"]["form"]["arch"]
        )

    def values(self, record, arch=None):
        """The record's values as the web client evaluates ``invisible`` with them."""
        arch = self.arch if arch is None else arch
        names = {
            node.get("name") for node in arch.iter("field") if node.get("name") in record._fields
        }
        read = record.read(sorted(names))[0]
        return {
            name: value[0] if isinstance(value, tuple) else value for name, value in read.items()
        } | {"context": {}, "uid": self.env.uid}

    def hidden(self, node, values):
        while node is not None:
            expression = node.get("invisible")
            if expression and safe_eval(expression, dict(values)):
                return True
            node = node.getparent()
        return False

    def form_fields(self, arch=None):
        """The form's own fields (not those of the lists inside it)."""
        arch = self.arch if arch is None else arch
        return [
            node
            for node in arch.iter("field")
            if not any(parent.tag == "field" for parent in node.iterancestors())
        ]

    def shown(self, record, arch=None):
        values = self.values(record, arch)
        return values, [node for node in self.form_fields(arch) if not self.hidden(node, values)]

    def test_every_fact_of_a_patient_appears_once(self):
        self.assertTrue(self.patients)
        for lead in self.patients:
            _values, shown = self.shown(lead)
            counts = Counter(node.get("name") for node in shown)
            with self.subTest(patient=lead.name):
                self.assertEqual(
                    {name: count for name, count in counts.items() if count > 1}, {}
                )

    def test_the_insurer_and_the_fund_appear_once(self):
        with_insurer = self.patients.filtered("cliniko_insurer_id")
        self.assertTrue(with_insurer, "the sandbox clinic has patients with an insurer")
        repeated = with_insurer.filtered(
            lambda lead: same_payer(lead.cliniko_health_fund, lead.cliniko_insurer_id.name)
        )
        self.assertTrue(repeated, "the sandbox's fund answers name the matched insurer")
        for lead in with_insurer:
            _values, shown = self.shown(lead)
            names = [node.get("name") for node in shown]
            with self.subTest(patient=lead.name):
                self.assertEqual(names.count("cliniko_insurer_id"), 1)
                self.assertEqual(
                    names.count("cliniko_health_fund"), 0 if lead in repeated else 1
                )
        self.assertTrue(same_payer("Medibank", "Medibank Private"))
        self.assertFalse(same_payer("Bupa", "Medibank Private"))
        self.assertFalse(same_payer("", "Medibank Private"))

    def test_no_heading_stands_over_nothing(self):
        headed = [
            node
            for node in self.arch.iter("group", "separator")
            if node.get("string") and not any(p.tag == "field" for p in node.iterancestors())
        ]
        self.assertTrue(headed)
        checked = set()
        for lead in self.patients:
            values, shown = self.shown(lead)
            shown = set(shown)
            for node in headed:
                if self.hidden(node, values):
                    checked.add(node.get("string"))
                    continue
                under = (
                    [field for field in node.iter("field") if field in shown]
                    if node.tag == "group"
                    else [
                        field
                        for field in node.itersiblings()
                        if field.tag == "field" and field in shown
                    ][:1]
                )
                with self.subTest(patient=lead.name, heading=node.get("string")):
                    self.assertTrue(
                        any(
                            values.get(field.get("name")) not in (None, "", [])
                            and (
                                values[field.get("name")] is not False
                                or lead._fields[field.get("name")].type == "boolean"
                            )
                            for field in under
                        ),
                        "a heading over empty fields only",
                    )
        # headings that are hidden for some patient because all their fields are empty
        self.assertIn("Invoicing", checked)

    def test_files_read_as_their_kind_and_their_size(self):
        files = self.arch.find(".//field[@name='cliniko_attachment_ids']/list")
        names = [node.get("name") for node in files.iter("field")]
        self.assertNotIn("mimetype", names)
        self.assertNotIn("file_size", names)
        self.assertIn("cliniko_file_type", names)
        self.assertIn("cliniko_size_display", names)
        attachments = self.patients.cliniko_attachment_ids
        self.assertTrue(attachments, "the sandbox's patients have files")
        for attachment in attachments:
            with self.subTest(file=attachment.name):
                self.assertRegex(attachment.cliniko_file_type, r"^[A-Z0-9]+$|^File$")
                self.assertRegex(attachment.cliniko_size_display, r"^\d+(\.\d)? (B|kB|MB|GB)$")
        self.assertEqual(file_type("application/pdf"), "PDF")
        self.assertEqual(file_type("image/jpeg", "x-ray.jpeg"), "JPG")
        self.assertEqual(file_type("application/octet-stream", "scan.dcm"), "DCM")
        self.assertEqual(file_type(False, "notes"), "File")

    def test_every_fact_of_a_migrated_contact_appears_once(self):
        arch = etree.fromstring(
            self.env["res.partner"].get_views([(False, "form")])["views"]["form"]["arch"]
        )
        Partner = self.env["res.partner"].with_context(active_test=False)
        contacts = Partner.search([("cliniko_contact_id", "!=", False)])
        self.assertTrue(contacts.filtered(lambda partner: partner.cliniko_contact_type == "payer"))
        for partner in contacts | self.patients.partner_id:
            _values, shown = self.shown(partner, arch)
            counts = Counter(node.get("name") for node in shown)
            with self.subTest(partner=partner.name):
                self.assertEqual(
                    {name: count for name, count in counts.items() if count > 1}, {}
                )
