"""Step 10, security (and step 9, the exportable audit log): one group owns the migration, other
users see none of it, the API key shows up nowhere, and each company sees its own data."""

import contextlib
import logging

from odoo import Command
from odoo.exceptions import AccessError

from .common import ClinikoSandboxCase
from .test_connect import make_manager

# Reference data a salesman reads on the leads (issue 3): not migration tools.
SALESMAN_READS = {
    "cliniko.location",
    "cliniko.appointment.type",
    "cliniko.invoice",
    "cliniko.invoice.line",
}
AUDIT_LOG_COLUMNS = [
    "run_id",
    "resource",
    "action",
    "cliniko_id",
    "res_model",
    "res_id",
    "reference",
    "message",
]


@contextlib.contextmanager
def capture_logs(logger):
    """Every record ``logger`` emits (DEBUG included) while the block runs."""
    lines = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    handler = Keep(level=logging.DEBUG)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


class TestSecurity(ClinikoSandboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.key = cls.sandbox.api_key
        cls.bare_key = cls.key.rsplit("-", 1)[0]
        cls.manager = make_manager(cls.env)
        cls.salesman = (
            cls.env["res.users"]
            .with_context(no_reset_password=True)
            .create(
                {
                    "name": "Sam Salesman",
                    "login": "sam.salesman",
                    "group_ids": [Command.set([cls.env.ref("sales_team.group_sale_salesman").id])],
                }
            )
        )
        logger = logging.getLogger("odoo.addons.cliniko_crm_migration")
        with capture_logs(logger) as cls.log_lines:
            cls.migration_run = cls.env["cliniko.migration.run"].browse(
                cls.migrate(cls, resources="patients").id
            )
            cls.audit = cls.env["cliniko.source.audit"].cliniko_run_for(cls.connection)
            cls.connection.cliniko_test_connection()
            cls.draft = cls.env["cliniko.migration.run"].create(
                {"connection_id": cls.connection.id}
            )
            cls.draft.action_resolve_practitioners()

    def assertNoKey(self, value, where):
        text = repr(value)
        self.assertNotIn(self.bare_key, text, "the API key appears in %s" % where)

    # -- the group -----------------------------------------------------------------------
    def test_settings_administrators_are_migration_managers(self):
        group = self.env.ref("cliniko_crm_migration.group_cliniko_manager")
        self.assertEqual(group.name, "Cliniko Migration Manager")
        self.assertIn(group, self.env.ref("base.group_system").all_implied_ids)
        self.assertIn(group, self.env.ref("base.user_admin").all_group_ids)

    def test_nobody_is_in_the_api_key_group(self):
        group = self.env.ref("cliniko_crm_migration.group_cliniko_api_key")
        self.assertFalse(group.all_user_ids.filtered(lambda user: user.id != 1 and user.active))

    def test_a_salesman_may_not_read_any_migration_model(self):
        models = sorted(
            name
            for name in self.env.registry
            if name.startswith("cliniko.") and name not in SALESMAN_READS
        )
        self.assertIn("cliniko.source.audit", models)
        for name in models:
            with self.subTest(model=name), self.assertRaises(AccessError):
                self.env[name].with_user(self.salesman).check_access("read")

    def test_a_manager_may_read_every_migration_model(self):
        for name in ("cliniko.connection", "cliniko.source.audit", "cliniko.audit.log"):
            self.env[name].with_user(self.manager).check_access("read")

    def test_a_salesman_sees_no_migration_menu(self):
        root = self.env.ref("cliniko_crm_migration.menu_cliniko_root")
        visible = self.env["ir.ui.menu"].with_user(self.salesman)._visible_menu_ids()
        self.assertNotIn(root.id, visible)
        visible = self.env["ir.ui.menu"].with_user(self.manager)._visible_menu_ids()
        self.assertIn(root.id, visible)

    # -- the key, nowhere ----------------------------------------------------------------
    def test_the_key_is_in_no_view_of_the_addon(self):
        views = self.env["ir.ui.view"].search([("model", "=like", "cliniko.%")]) | self.env.ref(
            "cliniko_crm_migration.cliniko_connection_view_form"
        )
        for view in views:
            self.assertNotIn('name="api_key"', view.arch_db, view.xml_id)
        arch = (
            self.env["cliniko.connection"]
            .with_user(self.manager)
            .get_views([(False, "form"), (False, "list")])
        )
        self.assertNoKey(arch, "the connection views")
        self.assertNotIn('name="api_key"', arch["views"]["form"]["arch"])
        self.assertNotIn("api_key", arch["models"]["cliniko.connection"]["fields"])

    def test_the_key_is_in_no_field_description(self):
        fields = self.env["cliniko.connection"].with_user(self.manager).fields_get()
        self.assertNotIn("api_key", fields)
        self.assertIn("api_key_status", fields)

    def test_the_key_is_in_no_export_of_the_connection(self):
        connection = self.connection.with_user(self.manager)
        names = [
            name
            for name, field in connection.fields_get().items()
            if field.get("exportable", True) and field["type"] not in ("one2many", "many2many")
        ]
        rows = connection.export_data(names)["datas"]
        self.assertNoKey(rows, "an export of the connection")
        with self.assertRaises(AccessError):
            connection.export_data(["api_key"])

    def test_the_key_is_in_no_log(self):
        self.assertTrue(self.log_lines, "the run logged something")
        self.assertNoKey(self.log_lines, "the server log")
        self.assertNoKey(self.migration_run.log, "the run log")
        self.assertNoKey(self.migration_run.error_message, "the run error")
        self.assertFalse(
            self.env["cliniko.audit.log"].search_count(
                ["|", ("message", "ilike", self.bare_key), ("cliniko_id", "ilike", self.bare_key)]
            )
        )
        self.assertNoKey(self.connection.test_message, "the connection test")
        self.assertNoKey(self.audit.cliniko_summary(), "the audit")

    # -- the audit log (step 9) ------------------------------------------------------------
    def test_the_audit_log_exports_its_columns_without_the_key(self):
        lines = (
            self.env["cliniko.audit.log"]
            .with_user(self.manager)
            .search(
                [("run_id", "=", self.migration_run.id), ("res_model", "=", "res.partner")], limit=5
            )
        )
        self.assertTrue(lines)
        rows = lines.export_data(AUDIT_LOG_COLUMNS)["datas"]
        self.assertEqual(len(rows), len(lines))
        self.assertTrue(all(len(row) == len(AUDIT_LOG_COLUMNS) for row in rows))
        first = rows[0]
        self.assertEqual(first[1], "patients")
        self.assertEqual(first[3], lines[0].cliniko_id)
        self.assertEqual(first[6], "res.partner,%s" % lines[0].res_id)
        self.assertNoKey(rows, "an export of the audit log")

    def test_each_audit_line_links_to_its_odoo_record(self):
        line = self.migration_run.audit_ids.filtered(lambda line: line.res_model == "res.partner")[
            :1
        ]
        self.assertEqual(line.reference, self.env["res.partner"].browse(line.res_id))
        action = line.action_open_record()
        self.assertEqual((action["res_model"], action["res_id"]), ("res.partner", line.res_id))

    def test_the_audit_log_filters_and_groups(self):
        Log = self.env["cliniko.audit.log"].with_user(self.manager)
        groups = Log.formatted_read_group(
            [("run_id", "=", self.migration_run.id)], ["resource", "action"], ["__count"]
        )
        self.assertIn("patients", {group["resource"] for group in groups})
        views = Log.get_views([(False, "list"), (False, "search")])
        self.assertIn('name="group_run"', views["views"]["search"]["arch"])
        self.assertIn('name="reference"', views["views"]["list"]["arch"])

    # -- companies -------------------------------------------------------------------------
    def test_a_manager_of_another_company_sees_nothing_of_this_one(self):
        other = self.env["res.company"].create({"name": "Other Clinic"})
        manager_b = make_manager(self.env, "cliniko.manager.b")
        manager_b.write({"company_ids": [Command.set(other.ids)], "company_id": other.id})
        records = {
            "cliniko.connection": self.connection,
            "cliniko.migration.run": self.migration_run,
            "cliniko.migration.run.resource": self.migration_run.resource_ids[:1],
            "cliniko.audit.log": self.migration_run.audit_ids[:1],
            "cliniko.source.audit": self.audit,
            "cliniko.source.audit.finding": self.audit.finding_ids[:1],
            "cliniko.source.audit.record": self.audit.finding_ids.record_ids[:1],
            "cliniko.practitioner.decision": self.draft.practitioner_decision_ids[:1],
            "cliniko.connection.resource.count": self.connection.resource_count_ids[:1],
        }
        for name, record in records.items():
            with self.subTest(model=name):
                self.assertTrue(record, "nothing to test on %s" % name)
                Model = self.env[name].with_user(manager_b)
                self.assertFalse(Model.search([("id", "in", record.ids)]))
                with self.assertRaises(AccessError):
                    record.with_user(manager_b).read(["id"])
                self.assertTrue(
                    self.env[name].with_user(self.manager).search([("id", "in", record.ids)])
                )
