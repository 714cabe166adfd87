"""The headless command, run as scripts run it: a real odoo-bin process on its own database."""

import json
import os
import subprocess
import sys
import uuid

import odoo
from odoo.tests import BaseCase
from odoo.tools import config

from ..tools.cliniko_sandbox import ClinikoSandbox


def _odoo_bin():
    root = os.path.dirname(list(odoo.__path__)[0])
    script = os.path.join(root, "odoo-bin")
    return [sys.executable, script] if os.path.exists(script) else [sys.executable, "-m", "odoo"]


class TestCliniko(BaseCase):
    """``odoo-bin cliniko migrate`` then ``cliniko rollback`` on a database of their own."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.db = "cliniko_cli_%s" % uuid.uuid4().hex[:8]
        cls.sandbox = ClinikoSandbox(seed=5, patients=20).start()
        cls.addClassCleanup(cls.sandbox.stop)
        cls.addClassCleanup(cls._drop_db)
        cls.odoo(["-d", cls.db, "-i", "cliniko_crm_migration", "--stop-after-init"], check=True)

    @classmethod
    def _drop_db(cls):
        subprocess.run(["dropdb", "--if-exists", cls.db], check=False, capture_output=True)

    @classmethod
    def odoo(cls, args, check=False):
        addons_path = config["addons_path"]
        if not isinstance(addons_path, str):
            addons_path = ",".join(addons_path)
        command = [*_odoo_bin(), "--addons-path=%s" % addons_path, *args]
        if args and args[0] != "cliniko":
            command += ["--log-level=warn", "--http-interface=127.0.0.1", "--http-port=0"]
        if config.get("data_dir"):
            command.append("--data-dir=%s" % config["data_dir"])
        result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        if check and result.returncode:
            raise AssertionError(result.stderr[-3000:])
        return result

    def cliniko(self, *args):
        if args[0] == "migrate":
            args = (*args, "--unmatched-practitioners", "unassigned")
        return self.odoo(["cliniko", *args, "-d", self.db, "--log-level=warn"])

    def test_migrate_then_rollback_report_json_and_exit_status(self):
        result = self.cliniko(
            "migrate",
            "--api-key",
            self.sandbox.api_key,
            "--base-url",
            self.sandbox.base_url,
            "--contact-email",
            "ci@example.com",
            "--json",
        )
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        self.assertEqual(summary["state"], "done")
        patients = summary["resources"]["patients"]
        self.assertEqual(set(patients), {"fetched", "created", "updated", "skipped", "failed"})
        self.assertGreater(patients["created"], 0)
        self.assertEqual(
            patients["fetched"],
            sum(patients[k] for k in ("created", "updated", "skipped", "failed")),
        )

        again = self.cliniko(
            "migrate",
            "--api-key",
            self.sandbox.api_key,
            "--base-url",
            self.sandbox.base_url,
            "--json",
        )
        self.assertEqual(
            json.loads(again.stdout.strip().splitlines()[-1])["resources"]["patients"]["created"], 0
        )

        rollback = self.cliniko("rollback", "--run", str(summary["run_id"]), "--json")
        self.assertEqual(rollback.returncode, 0, rollback.stderr[-3000:])
        self.assertEqual(
            json.loads(rollback.stdout.strip().splitlines()[-1])["state"], "rolled_back"
        )

    def test_a_bad_key_exits_non_zero_with_a_failed_run(self):
        result = self.cliniko(
            "migrate",
            "--api-key",
            "nope-au1",
            "--base-url",
            self.sandbox.base_url,
            "--contact-email",
            "ci@example.com",
            "--json",
        )
        self.assertNotEqual(result.returncode, 0)
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        self.assertEqual(summary["state"], "failed")
        self.assertNotIn("nope-au1", result.stdout + result.stderr)
