"""The migration screens load in a real browser (headless Chromium) without errors."""

from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestMigrationScreens(HttpCase):
    def test_runs_and_connections_open_in_the_web_client(self):
        connection = self.env["cliniko.connection"].create(
            {
                "name": "Screen test",
                "api_key": "screen-test-key-au1",
                "contact_email": "a@example.com",
            }
        )
        run = self.env["cliniko.migration.run"].create({"connection_id": connection.id})
        for url in (
            "/odoo/action-cliniko_crm_migration.action_cliniko_connection/%s" % connection.id,
            "/odoo/action-cliniko_crm_migration.action_cliniko_migration_run/%s" % run.id,
            "/odoo/action-cliniko_crm_migration.action_cliniko_audit_log",
        ):
            with self.subTest(url=url):
                self.browser_js(
                    url,
                    "if (!document.querySelector('.o_action_manager .o_view_controller')) "
                    "{ console.error('no view rendered'); } "
                    "else { console.log('test successful'); }",
                    ready="!!document.querySelector('.o_action_manager .o_view_controller')",
                    login="admin",
                )
