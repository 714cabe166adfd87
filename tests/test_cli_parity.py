"""The headless steps the web client has: test the connection, decide practitioners from a
file, export, review and import the field map, list and resolve delta-sync conflicts.

One database of its own and one migration: ``setUpClass`` runs the commands in the order an
admin would (about twenty odoo-bin processes) and keeps their results; each test reads them.
"""

import csv
import io
import json
import os
import shutil
import subprocess
import tempfile
import time

from odoo.sql_db import db_connect
from odoo.tests import BaseCase, tagged

from ..tools.cliniko_sandbox import ClinikoSandbox
from .common import odoo_command, spare_database

MAP_HEADER = [
    "source_path",
    "source_label",
    "source_type",
    "sample_profile",
    "required",
    "target_kind",
    "target_model",
    "target_field",
    "create_only",
    "confidence",
    "reason",
]
PRACTITIONER_HEADER = ["cliniko_practitioner", "odoo_user"]


@tagged("post_install", "-at_install")
class TestClinikoCommandParity(BaseCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = ClinikoSandbox(seed=7, patients=8, rate_limit=0).start()
        cls.addClassCleanup(cls.sandbox.stop)
        cls.db = spare_database(cls)
        cls.dir = tempfile.mkdtemp()
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        clinic = cls.sandbox.clinic
        cls.practitioners = {
            "%s %s" % (record["first_name"], record["last_name"]): record
            for record in clinic.resources["practitioners"].values()
        }
        owner = clinic.resources["users"][cls.sandbox.key_owner_id]
        cls.owner_name = "%s %s" % (owner["first_name"], owner["last_name"])
        key = ("--api-key", "-", "--base-url", cls.sandbox.base_url)
        # A hostile custom field section, which a spreadsheet would run as a formula.
        for patient in clinic.resources["patients"].values():
            for section in (patient.get("custom_fields") or {}).get("sections") or []:
                if section.get("name") == "Insurance coverage":
                    section["name"] = "=HYPERLINK(1)"

        # 1. Test the connection: the key from the environment; a bad key; nobody listening.
        cls.tested = cls.cliniko(
            "test-connection", "--base-url", cls.sandbox.base_url, env_key=cls.sandbox.api_key
        )
        cls.connection_id = cls.last_json(cls.tested)["connection_id"]
        connection = ("--connection", str(cls.connection_id))
        cls.bad_key = cls.cliniko("test-connection", *key, stdin="NOTAREALKEY-au1\n")
        cls.unreachable = cls.cliniko(
            "test-connection",
            *key[:3],
            "http://127.0.0.1:9/v1",
            stdin=cls.sandbox.api_key + "\n",
        )
        cls.sandbox.refuse("user", 403)  # the key's user may not read itself
        cls.forbidden = cls.cliniko("test-connection", *connection)
        cls.sandbox.refused.pop("user")

        # 2. The field map as a file: exported (proposed now), refused with bad rows, imported.
        cls.map_file = os.path.join(cls.dir, "map.csv")
        # FILE after -d DB: argparse must not take the database's name for the file
        cls.exported = cls.cliniko("map", "export", "-d", cls.db, cls.map_file, *connection)
        with open(cls.map_file, encoding="utf-8", newline="") as handle:
            cls.map_rows = list(csv.reader(handle))
        gp_date, policy = cls.custom_row("GP consent date"), cls.custom_row("Policy number")
        cls.gp_date_path, cls.policy_path = gp_date[0], policy[0]
        bad = [list(row) for row in cls.map_rows]
        # A text field onto a date-time field, a date onto a field that does not exist.
        cls.edit(bad, cls.policy_path, "odoo", "crm.lead", "cliniko_created_at")
        cls.edit(bad, cls.gp_date_path, "odoo", "crm.lead", "cliniko_nope")
        bad.append(["patients.custom_fields.nope", "", "", "", "no", "keep", "", "", "no"])
        cls.bad_map_lines = {
            "type": cls.line_of(bad, cls.policy_path),
            "odoo": cls.line_of(bad, cls.gp_date_path),
            "cliniko": len(bad),
        }
        cls.bad_map = cls.cliniko("map", "import", cls.write("bad_map.csv", bad), *connection)
        good = [list(row) for row in cls.map_rows]
        cls.edit(good, cls.gp_date_path, "skip")
        cls.imported = cls.cliniko(
            "map", "import", cls.write("map_reviewed.csv", good), *connection, "--confirm"
        )

        # 3. Practitioners from a file: refused files first (nothing changes), then the run.
        names = ("Priya Raman", "Tom Brennan", "Ben Carter")
        priya, tom, ben = (cls.practitioners[name] for name in names)
        cls.ben_email = clinic.resources["users"][ben["user_id"]]["email"]
        bad_lines = [
            PRACTITIONER_HEADER,
            ["999999", "admin"],  # line 2: no such practitioner
            ["Tom Brennan", "nobody.here"],  # line 3: no such login
            [ben["id"], "maybe"],  # line 4: no such policy
            [priya["id"], "placeholder"],  # line 5: fine
        ]
        cls.bad_practitioners = cls.migrate(cls.write("bad_practitioners.csv", bad_lines))
        cls.bad_header = cls.migrate(
            cls.write("bad_header.csv", [["practitioner", "user"], [priya["id"], "admin"]])
        )
        cls.incomplete = cls.migrate(
            cls.write("incomplete.csv", [PRACTITIONER_HEADER, [priya["id"], "admin"]]),
            policy=False,
        )
        cls.counts_after_refusals = cls.query(
            "SELECT (SELECT count(*) FROM cliniko_migration_run),"
            " (SELECT count(*) FROM cliniko_practitioner_decision)"
        )[0]
        cls.practitioners_file = cls.write(
            "practitioners.csv",
            [
                ["Cliniko_Practitioner", "Odoo_User"],
                [priya["id"], "admin"],
                ["  tom   brennan ", "placeholder"],
                [cls.ben_email.upper(), "Unassigned"],
            ],
        )
        cls.migrated = cls.migrate(cls.practitioners_file)
        cls.run_id = cls.last_json(cls.migrated)["run_id"]

        # 4. The confirmed map is used now: importing again makes a new version.
        again = [list(row) for row in cls.map_rows]
        cls.edit(again, cls.policy_path, "skip")
        cls.reimported = cls.cliniko(
            "map", "import", cls.write("map_v2.csv", again), *connection, "--confirm"
        )

        # 5. Conflicts: two patients changed in Odoo and in Cliniko, then a delta sync.
        rows = cls.query(
            "SELECT p.id, p.cliniko_patient_id FROM res_partner p WHERE p.cliniko_patient_id"
            " IS NOT NULL AND p.active ORDER BY p.id LIMIT 2"
        )
        cls.conflicted = {pid: partner for partner, pid in rows}
        with db_connect(cls.db).cursor() as cr:
            cr.execute(
                "UPDATE res_partner SET city = 'Edited in Odoo' WHERE id IN %s",
                (tuple(cls.conflicted.values()),),
            )
        clinic.now = max(time.time(), clinic.now.timestamp() + 1)
        for pid in cls.conflicted:
            clinic.update("patients", pid, city="Edited in Cliniko")
        cls.delta = cls.cliniko("delta", *connection)
        cls.listed = cls.cliniko("conflicts", "list")
        first, second = sorted(line["id"] for line in cls.last_json(cls.listed)["conflicts"])[:2]
        cls.first_conflict, cls.second_conflict = first, second
        cls.unknown_conflict = cls.cliniko(
            "conflicts", "take", "--conflict", str(first), "--conflict", "999999", "--side", "odoo"
        )
        cls.taken = cls.cliniko("conflicts", "take", "--conflict", str(first), "--side", "cliniko")
        cls.taken_twice = cls.cliniko(
            "conflicts", "take", "--conflict", str(first), "--side", "odoo"
        )
        cls.kept = cls.cliniko("conflicts", "take", "--all", "--side", "odoo", *connection)
        cls.listed_all = cls.cliniko("conflicts", "list", "--all")

    # -- helpers ---------------------------------------------------------------------------
    @classmethod
    def cliniko(cls, *args, stdin=None, env_key=None):
        environ = dict(os.environ)
        environ.pop("CLINIKO_API_KEY", None)
        if env_key:
            environ["CLINIKO_API_KEY"] = env_key
        command = odoo_command(["cliniko", *args, "--json", "-d", cls.db, "--log-level=warn"])
        return subprocess.run(  # noqa: S603 - our own odoo-bin
            command,
            input=stdin or "",
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            env=environ,
        )

    @classmethod
    def migrate(cls, practitioners, policy=True):
        args = ["migrate", "--connection", str(cls.connection_id), "--practitioners", practitioners]
        if policy:
            args += ["--unmatched-practitioners", "unassigned"]
        return cls.cliniko(*args)

    @staticmethod
    def last_json(result):
        lines = result.stdout.strip().splitlines()
        if not lines:
            raise AssertionError("no output: %s" % result.stderr[-3000:])
        return json.loads(lines[-1])

    @classmethod
    def query(cls, sql, params=()):
        with db_connect(cls.db).cursor() as cr:
            cr.execute(sql, params)
            return cr.fetchall()

    @classmethod
    def write(cls, name, rows):
        path = os.path.join(cls.dir, name)
        with open(path, "w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(rows)
        return path

    @classmethod
    def custom_row(cls, label):
        for row in cls.map_rows[1:]:
            if row[0].startswith("patients.custom_fields.") and row[1].endswith(label):
                return row
        raise AssertionError("the proposed map has no custom field %r" % label)

    @staticmethod
    def edit(rows, source_path, kind, model=None, field=None):
        for row in rows:
            if row[0] == source_path:
                row[5] = kind
                if model is not None:
                    row[6], row[7] = model, field
                return
        raise AssertionError(source_path)

    @staticmethod
    def line_of(rows, source_path):
        return next(number for number, row in enumerate(rows, 1) if row[0] == source_path)

    def assertRefused(self, result, *fragments):
        self.assertEqual(result.returncode, 2, result.stdout + result.stderr[-3000:])
        self.assertNotIn("Traceback", result.stdout + result.stderr)
        summary = self.last_json(result)
        self.assertTrue(summary["refused"])
        for fragment in fragments:
            self.assertIn(fragment, summary["error"])
        self.assertEqual(len(summary["error"].splitlines()), 1)
        return summary["error"]

    def assertOk(self, result):
        self.assertEqual(result.returncode, 0, result.stdout[-2000:] + result.stderr[-3000:])
        return self.last_json(result)

    # -- test-connection -------------------------------------------------------------------
    def test_test_connection_reports_the_key_owner_and_refuses_bad_keys(self):
        summary = self.assertOk(self.tested)
        self.assertEqual(summary["key_owner"], self.owner_name)
        self.assertEqual(summary["shard"], "au1")
        patients = self.sandbox.clinic.resources["patients"].values()
        patients = len([patient for patient in patients if not patient.get("deleted_at")])
        self.assertEqual(summary["counts"]["patients"], patients)
        self.assertEqual(summary["records"], sum(summary["counts"].values()))
        self.assertEqual(summary["refused"], {})
        self.assertIn(self.owner_name, summary["message"])
        self.assertEqual(
            self.query(
                "SELECT key_owner FROM cliniko_connection WHERE id = %s", (self.connection_id,)
            ),
            [(self.owner_name,)],
            "the result is stored on the connection, as the button stores it",
        )
        self.assertRefused(self.bad_key, "rejected the API key")
        self.assertRefused(self.unreachable, "cannot be reached")
        self.assertRefused(self.forbidden, "lacks a permission")
        for result in (self.tested, self.bad_key, self.unreachable, self.forbidden):
            self.assertNotIn(self.sandbox.api_key, result.stdout + result.stderr)
            self.assertNotIn("NOTAREALKEY", result.stdout + result.stderr)
        self.assertEqual(self.query("SELECT count(*) FROM cliniko_connection"), [(1,)])

    # -- the field map as a file -----------------------------------------------------------
    def test_the_map_exports_imports_with_line_numbers_and_confirms(self):
        exported = self.assertOk(self.exported)
        self.assertTrue(exported["proposed"])
        self.assertEqual(exported["state"], "draft")
        self.assertEqual(self.map_rows[0], MAP_HEADER)
        self.assertEqual(len(self.map_rows) - 1, exported["lines"])
        self.assertEqual(self.custom_row("Policy number")[1], "'=HYPERLINK(1) / Policy number")
        self.assertFalse(any(cell.startswith("=") for row in self.map_rows for cell in row))

        error = self.assertRefused(self.bad_map, "nothing was changed")
        lines = self.bad_map_lines
        self.assertIn("line %s: type mismatch" % lines["type"], error)
        self.assertIn("line %s: unknown Odoo field crm.lead.cliniko_nope" % lines["odoo"], error)
        self.assertIn("line %s: unknown Cliniko field" % lines["cliniko"], error)

        imported = self.assertOk(self.imported)
        self.assertEqual(imported["map_id"], exported["map_id"], "a draft is edited in place")
        self.assertEqual(imported["state"], "confirmed")
        self.assertIsNone(imported["new_version_of"])
        self.assertEqual(imported["changed"], [self.gp_date_path])
        self.assertEqual(
            self.query(
                "SELECT line.target_kind FROM cliniko_field_map_line line WHERE map_id = %s"
                " AND source_path IN %s ORDER BY source_path = %s",
                (imported["map_id"], (self.gp_date_path, self.policy_path), self.gp_date_path),
            ),
            [(self.map_rows_kind(self.policy_path),), ("skip",)],
        )
        # The run followed the imported map: the skipped custom field is on no lead.
        self.assertEqual(
            self.query(
                "SELECT field_map_id FROM cliniko_migration_run WHERE id = %s", (self.run_id,)
            ),
            [(imported["map_id"],)],
        )
        ((with_custom, with_gp_date),) = self.query(
            "SELECT count(*), count(*) FILTER (WHERE cliniko_custom_fields::text LIKE %s)"
            " FROM crm_lead WHERE cliniko_custom_fields IS NOT NULL",
            ("%GP consent date%",),
        )
        self.assertGreater(with_custom, 0)
        self.assertEqual(with_gp_date, 0)

        # A confirmed map a run used stays as it was: the import makes a confirmed new version.
        again = self.assertOk(self.reimported)
        self.assertEqual(again["new_version_of"], imported["map_id"])
        self.assertNotEqual(again["map_id"], imported["map_id"])
        self.assertEqual(again["state"], "confirmed")
        self.assertEqual(again["changed"], sorted([self.gp_date_path, self.policy_path]))
        kinds = dict(
            self.query(
                "SELECT map_id, target_kind FROM cliniko_field_map_line WHERE source_path = %s",
                (self.policy_path,),
            )
        )
        self.assertEqual(
            kinds,
            {imported["map_id"]: self.map_rows_kind(self.policy_path), again["map_id"]: "skip"},
        )

    def map_rows_kind(self, source_path):
        return next(row[5] for row in self.map_rows if row[0] == source_path)

    # -- practitioners from a file ---------------------------------------------------------
    def test_practitioners_file_fills_the_decisions_and_refuses_bad_lines(self):
        error = self.assertRefused(self.bad_practitioners, "bad_practitioners.csv")
        self.assertIn("line 2: no Cliniko practitioner has the id 999999", error)
        self.assertIn("line 3: 'nobody.here' is neither a policy", error)
        self.assertIn("line 4: 'maybe' is neither a policy", error)
        self.assertNotIn("line 5", error)
        self.assertRefused(self.bad_header, "line 1 (the header)", "cliniko_practitioner")
        self.assertRefused(
            self.incomplete, "neither in", "Tom Brennan", "--unmatched-practitioners"
        )
        self.assertEqual(self.counts_after_refusals, (0, 0), "a refused file changes nothing")

        summary = self.assertOk(self.migrated)
        self.assertEqual(summary["state"], "done")
        priya, tom, ben, aroha = (
            self.practitioners[name]["id"]
            for name in ("Priya Raman", "Tom Brennan", "Ben Carter", "Aroha Ngata")
        )
        self.assertEqual(
            summary["practitioners"], {priya: "map", tom: "placeholder", ben: "unassigned"}
        )
        decisions = {
            cliniko_id: (decision, login, applied)
            for cliniko_id, decision, login, applied in self.query(
                "SELECT d.cliniko_id, d.decision, u.login, d.applied"
                " FROM cliniko_practitioner_decision d LEFT JOIN res_users u ON u.id = d.user_id"
                " WHERE d.run_id = %s",
                (self.run_id,),
            )
        }
        self.assertEqual(decisions[priya], ("map", "admin", True))
        self.assertEqual(decisions[tom][0], "placeholder")
        self.assertIn("placeholder.invalid", decisions[tom][1])
        self.assertEqual(decisions[ben][:2], ("unassigned", None))
        self.assertEqual(decisions[aroha][:2], ("unassigned", None), "--unmatched-practitioners")
        ((log,),) = self.query(
            "SELECT string_agg(text, E'\\n' ORDER BY id) FROM cliniko_migration_run_log_line"
            " WHERE run_id = %s",
            (self.run_id,),
        )
        self.assertIn("Practitioner decisions from %s" % self.practitioners_file, log)
        self.assertEqual(
            self.query("SELECT cliniko_practitioner_id FROM res_users WHERE login = 'admin'"),
            [(priya,)],
        )

    # -- conflicts -------------------------------------------------------------------------
    def test_conflicts_are_listed_and_resolved_as_the_buttons_do(self):
        self.assertOk(self.delta)
        listed = self.assertOk(self.listed)
        self.assertEqual(listed["open"], 2)
        conflicts = {line["cliniko_id"]: line for line in listed["conflicts"]}
        self.assertEqual(set(conflicts), set(self.conflicted))
        for pid, line in conflicts.items():
            self.assertEqual(line["record"], "res.partner,%s" % self.conflicted[pid])
            self.assertEqual(
                (line["field"], line["odoo_value"], line["cliniko_value"], line["state"]),
                ("city", "Edited in Odoo", "Edited in Cliniko", "open"),
            )
            self.assertTrue(line["record_name"])

        self.assertRefused(self.unknown_conflict, "No conflict 999999")
        taken = self.assertOk(self.taken)
        self.assertEqual(taken["resolved"], [self.first_conflict])
        self.assertEqual(taken["open"], 1)
        self.assertRefused(self.taken_twice, "resolved already")
        kept = self.assertOk(self.kept)
        self.assertEqual(kept["resolved"], [self.second_conflict])
        self.assertEqual(kept["open"], 0)

        states = {line["id"]: line["state"] for line in self.assertOk(self.listed_all)["conflicts"]}
        self.assertEqual(states, {self.first_conflict: "resolved", self.second_conflict: "kept"})
        cities = dict(
            self.query(
                "SELECT c.id, p.city FROM cliniko_sync_conflict c"
                " JOIN res_partner p ON p.id = c.res_id AND c.res_model = 'res.partner'"
            )
        )
        self.assertEqual(
            cities,
            {self.first_conflict: "Edited in Cliniko", self.second_conflict: "Edited in Odoo"},
        )
