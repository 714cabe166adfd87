"""The documented command on a fresh database whose company has no e-mail, against a clinic
that refuses a resource: JSON, exit 0, warnings. Mistakes get one sentence and exit 2.

One extra database, four odoo-bin processes (install, two commands, one without a database).
"""

import json
import re
import subprocess

from odoo.sql_db import db_connect
from odoo.tests import BaseCase, tagged

from ..tools.cliniko_sandbox import ClinikoSandbox
from .common import odoo_command, spare_database

ODOO_LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ [A-Z]+ ")


@tagged("post_install", "-at_install")
class TestClinikoCommandReliability(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db = spare_database(cls)
        cls.sandbox = ClinikoSandbox(seed=6, patients=6).start()
        cls.addClassCleanup(cls.sandbox.stop)
        cls.sandbox.refuse("medical_alerts", 403)
        with db_connect(cls.db).cursor() as cr:  # a company (and admin) without an e-mail
            cr.execute("UPDATE res_partner SET email = NULL")
        owner = cls.sandbox.clinic.resources["users"][cls.sandbox.key_owner_id]
        cls.owner_email = owner["email"]
        cls.migrate = cls.odoo(
            [
                "cliniko",
                "migrate",
                "-d",
                cls.db,
                "--api-key",
                cls.sandbox.api_key,
                "--base-url",
                cls.sandbox.base_url,
                "--accept-proposed-map",
                "--unmatched-practitioners",
                "unassigned",
                "--json",
                "--log-level=warn",
            ]
        )
        cls.bad_key = cls.odoo(
            [
                "cliniko",
                "migrate",
                "-d",
                cls.db,
                "--api-key",
                "NOTAREALKEY-au1",
                "--base-url",
                cls.sandbox.base_url,
                "--json",
                "--log-level=warn",
            ]
        )

    @classmethod
    def odoo(cls, args):
        return subprocess.run(
            odoo_command(args), capture_output=True, text=True, timeout=600, check=False
        )

    @staticmethod
    def last_json(result):
        return json.loads(result.stdout.strip().splitlines()[-1])

    def test_documented_form_without_company_email_migrates_with_warnings(self):
        result = self.migrate
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        self.assertNotIn("Traceback", result.stderr)
        summary = self.last_json(result)
        self.assertEqual(summary["state"], "done")
        self.assertIn("permission", summary["resources"]["medical_alerts"]["unavailable"])
        self.assertEqual(len(summary["warnings"]), 1, summary["warnings"])
        self.assertGreater(summary["resources"]["patients"]["created"], 0)
        with db_connect(self.db).cursor() as cr:
            cr.execute("SELECT contact_email FROM cliniko_connection")
            self.assertEqual(cr.fetchall(), [(self.owner_email,)], "the key owner's e-mail")

    def test_a_bad_key_is_one_sentence_exit_2_and_writes_nothing(self):
        result = self.bad_key
        self.assertEqual(result.returncode, 2, result.stderr[-3000:])
        self.assertNotIn("Traceback", result.stderr)
        ours = [line for line in result.stderr.splitlines() if not ODOO_LOG_LINE.match(line)]
        self.assertEqual(len(ours), 1, result.stderr)
        self.assertIn("rejected the API key", result.stderr)
        summary = self.last_json(result)
        self.assertTrue(summary["refused"])
        self.assertNotIn("NOTAREALKEY", result.stdout + result.stderr)
        with db_connect(self.db).cursor() as cr:
            cr.execute("SELECT count(*) FROM cliniko_connection")
            self.assertEqual(cr.fetchone()[0], 1, "a connection was written for the bad key")

    def test_an_unknown_database_is_one_sentence_exit_2(self):
        result = self.odoo(
            ["cliniko", "verify", "-d", self.db + "_nope", "--run", "1", "--json"]
            + ["--log-level=warn"]
        )
        self.assertEqual(result.returncode, 2, result.stderr[-3000:])
        self.assertNotIn("Traceback", result.stderr)
        self.assertTrue(self.last_json(result)["refused"])
