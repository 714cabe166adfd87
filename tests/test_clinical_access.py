"""Clinical data only for those who treat (issue 11), acted out by each role over the ORM and
over HTTP (JSON-RPC ``call_kw``, as the browser calls it): a salesman, a salesman who sees all
leads, a clinical user, the practitioner a form is restricted to, and a migration manager.

One migration of a small sandbox clinic in ``setUpClass``, seeded with what the issue is about:
a form restricted to its practitioner, a confidential memo, HTML and SVG files, a file that
announces 2 GB, and hostile markup in the API's strings.
"""

import importlib.util
import io
import json
import os
import re
import sys
import threading
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import lxml.html

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import BaseCase, HttpCase, tagged

from ..cliniko_api import ClinikoClient, ClinikoFileTooLargeError, ClinikoUnsafeRedirectError
from ..models.cliniko_connection import SANDBOX_PARAM
from ..tools.cliniko_sandbox import ClinikoSandbox
from .common import ClinikoSandboxCase
from .test_connect import make_manager

PAYLOAD = (
    '<img src=x onerror="alert(1)"><script>alert(2)</script><a href="javascript:alert(3)">x</a>'
)
# Strings that are not free text: the payload would only make the record fail to map.
NOT_TEXT = re.compile(
    r"(^id$|_id$|_at$|^date|_code$|^email$|^url$|^type$|^time_zone|^state$|_type$|^sex$"
    r"|^gender|^label$|^size$|^filename$|^content_type$|^status$)"
)
DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}")
EMAIL = "tests@example.com"


def active_markup(html):
    """The live parts of ``html`` (script elements, event handlers, javascript: links), not
    the text that merely spells them out once escaped."""
    found = []
    for element in lxml.html.fragments_fromstring("<div>%s</div>" % html)[0].iter():
        if element.tag in ("script", "iframe", "object", "embed"):
            found.append(element.tag)
        for name, value in element.attrib.items():
            if name.lower().startswith("on") or "javascript:" in value.lower().replace(" ", ""):
                found.append("%s=%s" % (name, value))
    return found


def poison(record):
    """Put ``PAYLOAD`` in every free-text string of a Cliniko record (nested content too)."""
    for key, value in list(record.items()):
        if isinstance(value, str) and not NOT_TEXT.search(key) and not DATE_LIKE.match(value):
            record[key] = PAYLOAD + value
        elif isinstance(value, dict) and key in ("content", "other"):
            poison(value)
        elif isinstance(value, list) and key in ("sections", "questions", "answers"):
            for inner in value:
                if isinstance(inner, dict):
                    poison(inner)


def user(env, login, *groups, email=None):
    return (
        env["res.users"]
        .with_context(no_reset_password=True)
        .create(
            {
                "name": login.title(),
                "login": login,
                "password": login + "-password",
                "email": email or "%s@example.com" % login,
                "group_ids": [Command.set([env.ref(group).id for group in groups])],
            }
        )
    )


class _Redirector(BaseHTTPRequestHandler):
    """A stand-in Cliniko whose file content redirects where the test says."""

    def do_GET(self):  # noqa: N802 - http.server's name
        self.server.seen.append(self.path)
        target = self.server.routes.get(self.path)
        if target is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status, headers, body = target
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


@tagged("post_install", "-at_install")
class TestClinicalAccess(ClinikoSandboxCase, HttpCase):
    sandbox_options = {"seed": 1, "patients": 12}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        clinic = cls.sandbox.clinic
        resources = clinic.resources
        # A completed form restricted to its practitioner, whose Cliniko user has an Odoo user.
        form = next(f for f in resources["patient_forms"].values() if f.get("completed_at"))
        form["restricted_to_practitioner"] = True
        cls.form_id = form["id"]
        booking = resources["individual_appointments"].get(form["booking_id"])
        assert booking, "the form's booking is an individual appointment in this clinic"
        practitioner = resources["practitioners"][booking["practitioner_id"]]
        email = resources["users"][practitioner["user_id"]]["email"]
        cls.patient_id = form["patient_id"]
        # A confidential memo.
        memo = next(
            record
            for record in resources["communications"].values()
            if record.get("patient_id") in resources["patients"] and not record.get("deleted_at")
        )
        memo["confidential"] = True
        cls.memo_id = memo["id"]
        # Hostile files, and one that announces 2 GB.
        cls.html_file = clinic.add_attachment(
            cls.patient_id, "letter.html", "text/html", PAYLOAD.encode()
        )["id"]
        cls.svg_file = clinic.add_attachment(
            cls.patient_id,
            "chart.svg",
            "image/svg+xml",
            b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        )["id"]
        cls.huge_file = clinic.add_attachment(
            cls.patient_id, "scan.dcm", "application/dicom", b"small in fact"
        )["id"]
        resources["patient_attachments"][cls.huge_file]["size"] = 2 * 1024**3
        # Hostile markup in every free-text string of the patient and their history.
        poison(resources["patients"][cls.patient_id])
        for name in ("treatment_notes", "communications", "patient_forms", "medical_alerts"):
            for record in resources[name].values():
                if record.get("patient_id") == cls.patient_id:
                    poison(record)

        env = cls.env
        cls.salesman = user(env, "sam", "base.group_user", "sales_team.group_sale_salesman")
        cls.all_leads = user(
            env, "alex", "base.group_user", "sales_team.group_sale_salesman_all_leads"
        )
        clinical = "cliniko_crm_migration.group_cliniko_clinical"
        cls.clinician = user(
            env, "cleo", "base.group_user", "sales_team.group_sale_salesman_all_leads", clinical
        )
        cls.doctor = user(
            env, "doc", "base.group_user", "sales_team.group_sale_salesman", clinical, email=email
        )
        cls.manager = make_manager(env)
        cls.manager.password = "manager-password"
        cls.migration_run = cls.start_run(unmatched_practitioners="unassigned")
        cls.ordinary = env["crm.lead"].create(
            {"name": "An ordinary opportunity", "user_id": cls.salesman.id}
        )
        cls.leads = (
            env["crm.lead"]
            .with_context(active_test=False)
            .search([("cliniko_lead_kind", "!=", False)])
        )
        cls.messages = env["mail.message"].search(
            [("model", "=", "crm.lead"), ("res_id", "in", cls.leads.ids)]
        )
        cls.files = env["ir.attachment"].search(
            [("res_model", "=", "crm.lead"), ("res_id", "in", cls.leads.ids)]
        )

    def record_of(self, resource, cliniko_id):
        ref = self.env["cliniko.external.ref"].search(
            [("resource", "=", resource), ("cliniko_id", "=", cliniko_id)]
        )
        self.assertTrue(ref, "%s %s was not migrated" % (resource, cliniko_id))
        return self.env[ref.res_model].browse(ref.res_id)

    def audit_of(self, resource, cliniko_id):
        return self.migration_run.audit_ids.filtered(
            lambda line: line.resource == resource and line.cliniko_id == cliniko_id
        )

    # -- 1. the clinical group -------------------------------------------------------------
    def test_the_migration_ran_and_left_something_to_protect(self):
        self.assertEqual(self.migration_run.state, "done")
        kinds = set(self.leads.mapped("cliniko_lead_kind"))
        self.assertEqual(kinds, {"patient", "appointment"})
        self.assertTrue(self.messages)
        self.assertTrue(self.files)

    def test_managers_and_settings_admins_are_clinical(self):
        group = self.env.ref("cliniko_crm_migration.group_cliniko_clinical")
        self.assertEqual(group.name, "Clinic: Clinical Records")
        self.assertIn(group, self.manager.all_group_ids)
        self.assertIn(group, self.env.ref("base.user_admin").all_group_ids)
        self.assertNotIn(group, self.salesman.all_group_ids)

    def test_a_salesman_sees_no_patient_or_appointment_lead_but_the_pipeline(self):
        for salesman in (self.salesman, self.all_leads):
            with self.subTest(user=salesman.login):
                Lead = self.env["crm.lead"].with_user(salesman).with_context(active_test=False)
                found = Lead.search([])
                self.assertIn(self.ordinary, found)
                self.assertFalse(found & self.leads)
                self.assertFalse(Lead.search_count([("cliniko_lead_kind", "!=", False)]))
                for kind in ("patient", "appointment"):
                    lead = self.leads.filtered(lambda lead, k=kind: lead.cliniko_lead_kind == k)
                    with self.assertRaises(AccessError):
                        lead[:1].with_user(salesman).read(["name", "cliniko_medicare_number"])
                self.ordinary.with_user(salesman).read(["name"])

    def test_a_salesman_reads_none_of_their_messages(self):
        Message = self.env["mail.message"].with_user(self.salesman)
        self.assertFalse(Message.search([("id", "in", self.messages.ids)]))
        with self.assertRaises(AccessError):
            self.messages[:1].with_user(self.salesman).read(["body"])

    def test_a_salesman_reads_none_of_their_files(self):
        Attachment = self.env["ir.attachment"].with_user(self.salesman)
        self.assertFalse(Attachment.search([("id", "in", self.files.ids)]))
        with self.assertRaises(AccessError):
            self.files[:1].with_user(self.salesman).read(["raw"])

    def test_a_salesman_reads_no_invoice(self):
        self.assertTrue(self.env["cliniko.invoice"].search_count([]))
        for name in ("cliniko.invoice", "cliniko.invoice.line"):
            with self.subTest(model=name), self.assertRaises(AccessError):
                self.env[name].with_user(self.salesman).search([])

    def test_a_salesman_reads_no_clinical_field_of_a_patient_partner(self):
        partners = self.migrated_partners()
        self.assertTrue(any(partners.mapped("cliniko_date_of_birth")))
        # The patient's notes are on the lead only, not in the partner's comment.
        self.assertFalse(any(partners.mapped("comment")))
        partner = partners.with_user(self.salesman)[:1]
        partner.read(["name"])
        with self.assertRaises(AccessError):
            partner.read(["cliniko_date_of_birth"])
        self.assertNotIn("cliniko_date_of_birth", partner.fields_get())

    def test_a_clinical_user_reads_the_clinical_record(self):
        Lead = self.env["crm.lead"].with_user(self.clinician).with_context(active_test=False)
        self.assertEqual(Lead.search([("id", "in", self.leads.ids)]), self.leads)
        self.leads[:1].with_user(self.clinician).read(["cliniko_medicare_number"])
        self.env["cliniko.invoice"].with_user(self.clinician).search([])

    # -- 2. Cliniko's restrictions ---------------------------------------------------------
    def test_a_restricted_form_is_read_by_its_practitioner_and_managers_only(self):
        message = self.record_of("patient_forms", self.form_id)
        self.assertTrue(message.cliniko_restricted)
        self.assertEqual(message.cliniko_restricted_user_id, self.doctor)
        for reader in (self.doctor, self.manager):
            message.with_user(reader).read(["body"])
        Message = self.env["mail.message"].with_user(self.clinician)
        self.assertFalse(Message.search([("id", "=", message.id)]))
        with self.assertRaises(AccessError):
            message.with_user(self.clinician).read(["body"])
        # The clinician still reads the rest of the patient's history.
        self.assertTrue(Message.search([("id", "in", (self.messages - message).ids)]))

    def test_a_confidential_memo_is_read_by_managers_only(self):
        message = self.record_of("communications", self.memo_id)
        self.assertTrue(message.cliniko_restricted)
        message.with_user(self.manager).read(["body"])
        for reader in (self.clinician, self.doctor):
            with self.subTest(user=reader.login), self.assertRaises(AccessError):
                message.with_user(reader).read(["body"])

    # -- runs ----------------------------------------------------------------------------
    def test_a_salesman_may_neither_start_nor_roll_back_a_run(self):
        for salesman in (self.salesman, self.clinician):
            run = self.migration_run.with_user(salesman)
            for method in ("action_start", "action_rollback"):
                with self.subTest(user=salesman.login, method=method):
                    with self.assertRaises(AccessError):
                        getattr(run, method)()
        self.assertEqual(self.migration_run.state, "done")

    # -- 3. the key stays in -------------------------------------------------------------
    def test_a_manager_may_not_point_base_url_at_another_host(self):
        thief = ClinikoSandbox(seed=2, patients=1).start()
        self.addCleanup(thief.stop)
        self.env["ir.config_parameter"].set_param(SANDBOX_PARAM, "")
        connection = self.connection.with_user(self.manager)
        for url in (thief.base_url, "https://evil.example.com/v1", "http://api.au1.cliniko.com/v1"):
            with self.subTest(url=url), self.assertRaises(ValidationError):
                connection.write({"base_url": url})
                connection.env.flush_all()
        self.assertEqual(self.connection.base_url, self.sandbox.base_url)
        connection.write({"base_url": "https://api.au2.cliniko.com/v1"})
        # Moving the connection cleared its key: nothing reaches the new host either.
        self.assertFalse(self.connection.api_key_set)
        with self.assertRaises(UserError):
            connection.cliniko_test_connection()
        self.assertEqual(thief.requests_log, [])

    def test_with_the_sandbox_parameter_a_moved_connection_still_sends_no_key(self):
        thief = ClinikoSandbox(seed=2, patients=1).start()
        self.addCleanup(thief.stop)
        connection = self.connection.with_user(self.manager)
        connection.write({"base_url": thief.base_url})
        self.assertFalse(self.connection.api_key_set)
        with self.assertRaises(UserError):
            connection.cliniko_test_connection()
        self.assertEqual(thief.requests_log, [])

    def test_a_sandbox_url_is_refused_at_use_once_the_parameter_is_off(self):
        self.assertTrue(self.connection._get_client().allow_private_hosts)
        self.env["ir.config_parameter"].set_param(SANDBOX_PARAM, "")
        with self.assertRaises(UserError):
            self.connection._get_client()

    # -- 4. hostile strings and hosts ------------------------------------------------------
    def test_hostile_api_strings_render_inert(self):
        lead = self.env["crm.lead"]._cliniko_patient_leads(
            self.record_of("patients", self.patient_id)
        )
        lead = next(iter(lead.values()))
        self.assertIn("alert(2)", lead.name, "the payload reached the lead")
        html = []
        for records in (lead, lead.partner_id, self.messages, self.migration_run):
            for name, field in records._fields.items():
                if field.type == "html":
                    html += [str(value) for value in records.mapped(name) if value]
        self.assertEqual(len(active_markup(PAYLOAD)), 3, "the check sees live markup")
        poisoned = [value for value in html if "alert(" in value]
        self.assertTrue(poisoned, "no payload reached an HTML field")
        self.assertEqual([active_markup(value) for value in html if active_markup(value)], [])

    def test_the_reconciliation_escapes_what_rpc_wrote(self):
        self.migration_run.reconciliation = [
            {"label": PAYLOAD, "cliniko": PAYLOAD, "references": 1, "odoo": 1, "odoo_active": 1}
        ]
        html = str(self.migration_run.reconciliation_html)
        self.assertIn("&lt;script&gt;", html)
        self.assertEqual(active_markup(html), [])
        self.assertIn("onerror", html, "the check above sees the payload, escaped")

    def local_server(self):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
        server.seen, server.routes = [], {}
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        return server, server.server_address[1]

    def test_the_cap_holds_on_the_bytes_received_when_no_size_is_announced(self):
        server, port = self.local_server()
        server.routes["/v1/patient_attachments/2/content"] = (200, [], b"x" * 100)
        client = ClinikoClient(
            "key-au1", contact_email=EMAIL, base_url="http://127.0.0.1:%d/v1" % port
        )
        target = io.BytesIO()
        with self.assertRaises(ClinikoFileTooLargeError):
            client.download("/patient_attachments/2/content", target, max_bytes=50)
        self.assertLessEqual(len(target.getvalue()), 50)

    def test_a_redirect_to_a_private_host_is_refused_without_the_sandbox_parameter(self):
        server, port = self.local_server()
        base = "http://127.0.0.1:%d/v1" % port
        payload = (200, [("Content-Length", "2")], b"ok")
        server.routes["/file"] = payload
        for target in (
            "http://localhost:%d/file" % port,
            "https://127.0.0.1:%d/file" % port,
            "https://169.254.169.254/latest/meta-data",
        ):
            server.routes["/v1/patient_attachments/1/content"] = (
                302,
                [("Location", target), ("Content-Length", "0")],
                b"",
            )
            client = ClinikoClient("key-au1", contact_email=EMAIL, base_url=base, max_retries=0)
            with self.subTest(target=target), self.assertRaises(ClinikoUnsafeRedirectError):
                client.download("/patient_attachments/1/content", io.BytesIO())
        self.assertNotIn("/file", server.seen)
        # The sandbox parameter's client follows the same redirect.
        target = io.BytesIO()
        server.routes["/v1/patient_attachments/1/content"] = (
            302,
            [("Location", "http://localhost:%d/file" % port), ("Content-Length", "0")],
            b"",
        )
        ClinikoClient(
            "key-au1", contact_email=EMAIL, base_url=base, allow_private_hosts=True
        ).download("/patient_attachments/1/content", target)
        self.assertEqual(target.getvalue(), b"ok")

    # -- 5. bookkeeping only the migration writes -----------------------------------------
    def test_a_manager_may_not_forge_or_rewrite_the_bookkeeping(self):
        line = self.migration_run.audit_ids[:1]
        ref = self.env["cliniko.external.ref"].search([], limit=1)
        Log = self.env["cliniko.audit.log"].with_user(self.manager)
        with self.assertRaises(AccessError):
            Log.create(
                {
                    "run_id": self.migration_run.id,
                    "resource": "patients",
                    "action": "create",
                    "res_model": "res.partner",
                    "res_id": self.env.ref("base.partner_admin").id,
                }
            )
        for record in (line, ref):
            with self.subTest(model=record._name):
                with self.assertRaises(AccessError):
                    record.with_user(self.manager).write({"res_id": self.ordinary.id})
                with self.assertRaises(AccessError):
                    record.with_user(self.manager).unlink()
        ref.with_user(self.manager).read(["cliniko_id"])

    # -- 6. files ----------------------------------------------------------------------------
    def test_html_and_svg_files_are_stored_as_plain_text(self):
        for cliniko_id in (self.html_file, self.svg_file):
            with self.subTest(file=cliniko_id):
                self.assertEqual(
                    self.record_of("patient_attachments", cliniko_id).mimetype, "text/plain"
                )

    def test_a_file_announcing_2_gb_fails_alone_with_its_reason(self):
        line = self.audit_of("patient_attachments", self.huge_file)
        self.assertEqual(line.mapped("action"), ["fail"])
        self.assertIn("larger than", line.message)
        self.assertIn(str(2 * 1024**3), line.message)
        others = self.audit_of("patient_attachments", self.html_file)
        self.assertEqual(others.mapped("action"), ["create"])

    def test_a_file_over_the_cap_fails_and_a_large_one_streams_in_flat_memory(self):
        size = 6 * 1024 * 1024
        data = bytes(range(256)) * (size // 256)
        clinic = self.sandbox.clinic
        large = clinic.add_attachment(
            self.patient_id, "large.bin", "application/octet-stream", data
        )
        # Announced small by Cliniko, but 8 MB arrive: over the 7 MB cap, it fails alone.
        liar = clinic.add_attachment(
            self.patient_id, "liar.bin", "application/octet-stream", data + data[: 2 * 1024**2]
        )
        clinic.resources["patient_attachments"][liar["id"]]["size"] = 10
        self.connection.max_file_size_mb = 7
        client = self.connection._get_client()
        with self.assertRaises(ClinikoFileTooLargeError):
            client.download(
                "/patient_attachments/%s/content" % large["id"], io.BytesIO(), max_bytes=size - 1
            )
        tracemalloc.start()
        try:
            run = self.start_run(resources="patient_attachments")
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertEqual(run.state, "done")
        stored = self.record_of("patient_attachments", large["id"])
        self.assertEqual((stored.file_size, stored.raw == data), (size, True))
        self.assertLess(peak, size / 2, "peak Python memory %s for a %s-byte file" % (peak, size))
        line = run.audit_ids.filtered(lambda line: line.cliniko_id == liar["id"])
        self.assertEqual(line.mapped("action"), ["fail"])

    # -- 7. companies ------------------------------------------------------------------------
    def test_migrated_partners_and_leads_belong_to_the_connections_company(self):
        company = self.connection.company_id
        self.assertEqual(set(self.migrated_partners().mapped("company_id")), {company})
        self.assertEqual(set(self.leads.mapped("company_id")), {company})

    def test_every_cliniko_model_has_a_multi_company_rule(self):
        Rule = self.env["ir.rule"]
        # Models that belong to no company, each with why.
        companyless = {
            # a key's request budget, shared by the runs of every company on that key; it
            # holds a digest of the key and a time, nothing else
            "cliniko.request.stamp",
        }
        for name, model in self.env.registry.items():
            if not name.startswith("cliniko.") or model._abstract or name in companyless:
                continue
            with self.subTest(model=name):
                rules = Rule.search([("model_id.model", "=", name)])
                self.assertTrue(
                    any("company_ids" in rule.domain_force for rule in rules),
                    "%s has no multi-company rule" % name,
                )

    # -- over HTTP, as the browser calls it --------------------------------------------------
    def call_kw(self, model, method, args, kwargs=None):
        response = self.url_open(
            "/web/dataset/call_kw/%s/%s" % (model, method),
            data=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "call",
                    "id": 1,
                    "params": {
                        "model": model,
                        "method": method,
                        "args": args,
                        "kwargs": dict({"context": {}}, **(kwargs or {})),
                    },
                }
            ),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 200)
        return response.json()

    def assertRefused(self, answer, error="odoo.exceptions.AccessError"):
        self.assertIn("error", answer, "the server answered %s" % answer.get("result"))
        self.assertEqual(answer["error"]["data"]["name"], error)

    def test_over_http_a_salesman_reads_no_lead_message_or_file_and_runs_nothing(self):
        self.authenticate("sam", "sam-password")
        lead = self.leads.filtered(lambda lead: lead.cliniko_lead_kind == "patient")[:1]
        self.assertRefused(self.call_kw("crm.lead", "read", [lead.ids, ["name"]]))
        found = self.call_kw(
            "crm.lead",
            "web_search_read",
            [[("cliniko_lead_kind", "!=", False)]],
            {"specification": {"name": {}}},
        )
        self.assertEqual(found["result"]["length"], 0)
        self.assertRefused(self.call_kw("mail.message", "read", [self.messages[:1].ids, ["body"]]))
        self.assertRefused(self.call_kw("ir.attachment", "read", [self.files[:1].ids, ["name"]]))
        response = self.url_open("/web/content/%s?download=true" % self.files[0].id)
        self.assertIn(response.status_code, (403, 404))
        self.assertNotIn(b"alert", response.content)
        for method in ("action_start", "action_rollback"):
            answer = self.call_kw("cliniko.migration.run", method, [self.migration_run.ids])
            self.assertRefused(answer)

    def test_over_http_a_manager_forges_no_audit_line_and_moves_no_key(self):
        self.authenticate("cliniko.manager", "manager-password")
        self.assertRefused(
            self.call_kw(
                "cliniko.audit.log",
                "create",
                [{"run_id": self.migration_run.id, "resource": "patients", "action": "create"}],
            )
        )
        self.env["ir.config_parameter"].set_param(SANDBOX_PARAM, "")
        self.assertRefused(
            self.call_kw(
                "cliniko.connection",
                "write",
                [self.connection.ids, {"base_url": "https://evil.example.com/v1"}],
            ),
            "odoo.exceptions.ValidationError",
        )
        self.assertEqual(self.connection.base_url, self.sandbox.base_url)
        self.assertTrue(self.connection.api_key_set)


def _cli_module():
    """The addon's ``cli/cliniko.py`` (Odoo loads it as ``odoo.cli.cliniko``)."""
    path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "cli", "cliniko.py")
    spec = importlib.util.spec_from_file_location("odoo.cli.cliniko", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@tagged("post_install", "-at_install")
class TestCommandLineKey(BaseCase):
    """The key reaches the command without showing in the process list or shell history."""

    def test_the_key_comes_from_stdin_the_environment_or_the_option(self):
        api_key = _cli_module()._api_key
        stdin, environ = sys.stdin, dict(os.environ)
        try:
            sys.stdin = io.StringIO("  key-from-stdin-au2\nnext line\n")
            os.environ["CLINIKO_API_KEY"] = "key-from-env-au1"
            self.assertEqual(api_key("-"), "key-from-stdin-au2")
            self.assertEqual(api_key(None), "key-from-env-au1")
            self.assertEqual(api_key("key-on-the-line-au1"), "key-on-the-line-au1")
            del os.environ["CLINIKO_API_KEY"]
            self.assertIsNone(api_key(None))
        finally:
            sys.stdin = stdin
            os.environ.clear()
            os.environ.update(environ)
