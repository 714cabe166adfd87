"""Step 1, connect: a write-only API key, and a connection test that shows the shard and what
Cliniko holds per resource, or says in plain words why it cannot."""

from odoo import Command
from odoo.exceptions import AccessError, UserError

from ..migration import graph
from .common import ClinikoSandboxCase


def make_manager(env, login="cliniko.manager"):
    return (
        env["res.users"]
        .with_context(no_reset_password=True)
        .create(
            {
                "name": "Migration Manager",
                "login": login,
                "email": "%s@example.com" % login,
                "group_ids": [
                    Command.set(
                        [
                            env.ref("base.group_user").id,
                            env.ref("cliniko_crm_migration.group_cliniko_manager").id,
                        ]
                    )
                ],
            }
        )
    )


class TestConnect(ClinikoSandboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.manager = make_manager(cls.env)

    def as_manager(self, record):
        return record.with_user(self.manager)

    def active_and_archived(self, resource):
        clinic = self.sandbox.clinic
        return [
            rid
            for rid in clinic.resources[resource]
            if not clinic.get(resource, rid).get("deleted_at")
        ]

    # -- the key -----------------------------------------------------------------------------
    def test_saved_key_is_never_read_back(self):
        connection = self.as_manager(self.connection)
        self.assertEqual(connection.api_key_status, "set")
        self.assertFalse(connection.api_key_input)
        with self.assertRaises(AccessError):
            connection.read(["api_key"])
        self.assertNotIn("api_key", connection.fields_get())
        data = connection.read(list(connection.fields_get()))[0]
        self.assertNotIn(self.sandbox.api_key, repr(data))

    def test_a_key_typed_in_the_form_replaces_the_stored_one(self):
        connection = self.as_manager(
            self.env["cliniko.connection"].create(
                {"name": "New", "contact_email": "tests@example.com"}
            )
        )
        self.assertEqual(connection.api_key_status, "not_set")
        connection.write({"api_key_input": "  newkey123-uk2 "})
        self.assertEqual(connection.sudo().api_key, "newkey123-uk2")
        self.assertEqual(connection.api_key_status, "set")
        self.assertEqual(connection.shard, "uk2")
        self.assertFalse(connection.api_key_input)

    def test_saving_without_typing_a_key_keeps_the_stored_one(self):
        connection = self.as_manager(self.connection)
        connection.write({"api_key_input": False, "name": "Renamed"})
        self.assertEqual(self.connection.sudo().api_key, self.sandbox.api_key)

    # -- a good test -------------------------------------------------------------------------
    def test_connection_test_reports_the_shard_and_counts_per_resource(self):
        result = self.as_manager(self.connection).cliniko_test_connection()
        self.assertEqual(result["shard"], "au1")
        self.assertEqual(set(result["counts"]), set(graph.names()))
        self.assertEqual(result["counts"]["patients"], len(self.active_and_archived("patients")))
        self.assertEqual(
            result["counts"]["practitioners"],
            len(self.sandbox.clinic.resources["practitioners"]),
            "active and inactive practitioners are both counted",
        )
        self.assertGreater(result["counts"]["individual_appointments"], 0)

    def test_counts_are_stored_as_lines_on_the_connection(self):
        result = self.connection.cliniko_test_connection()
        lines = self.connection.resource_count_ids
        self.assertEqual({line.resource: line.count for line in lines}, result["counts"])
        self.assertEqual(lines.sorted("sequence").mapped("resource"), graph.names())
        self.assertTrue(self.connection.tested_at)
        self.assertIn("au1", self.connection.test_message)

    def test_the_button_notifies_the_shard(self):
        action = self.connection.action_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("au1", action["params"]["message"])

    # -- failures in plain words -------------------------------------------------------------
    def test_bad_key_is_refused_in_plain_words_without_the_key(self):
        wrong = "wrongkeywrongkey-au1"
        connection = self.env["cliniko.connection"].create(
            {
                "name": "Wrong",
                "api_key": wrong,
                "base_url": self.sandbox.base_url,
                "contact_email": "tests@example.com",
            }
        )
        with self.assertRaises(UserError) as caught:
            connection.cliniko_test_connection()
        message = str(caught.exception)
        self.assertIn("rejected the API key", message)
        self.assertIn("au1", message)
        self.assertNotIn(wrong, message)
        self.assertNotIn("wrongkeywrongkey", message)

    def test_missing_permission_is_said_in_plain_words(self):
        self.sandbox.fail_next(1, status=403, path_contains="/v1/user")
        with self.assertRaises(UserError) as caught:
            self.connection.cliniko_test_connection()
        self.assertIn("lacks a permission", str(caught.exception))
        self.assertIn("administrator", str(caught.exception))

    def test_a_resource_the_key_may_not_read_is_listed_not_fatal(self):
        self.sandbox.fail_next(1, status=403, path_contains="/v1/treatment_notes")
        result = self.connection.cliniko_test_connection()
        self.assertIn("treatment_notes", result["refused"])
        self.assertNotIn("treatment_notes", result["counts"])
        line = self.connection.resource_count_ids.filtered(
            lambda line: line.resource == "treatment_notes"
        )
        self.assertIn("lacks a permission", line.error)
        self.assertGreater(result["counts"]["patients"], 0)

    def test_rate_limit_is_said_in_plain_words(self):
        self.addCleanup(setattr, self.sandbox, "rate_limit", self.sandbox.rate_limit)
        self.addCleanup(setattr, self.sandbox, "rate_window", self.sandbox.rate_window)
        self.addCleanup(self.sandbox.reset_rate_limit)
        self.sandbox.reset_rate_limit()
        self.sandbox.rate_limit, self.sandbox.rate_window = 1, 600.0
        with self.assertRaises(UserError) as caught:
            self.connection.cliniko_test_connection()
        self.assertIn("rate limit", str(caught.exception))

    def test_unreachable_cliniko_is_said_in_plain_words(self):
        connection = self.env["cliniko.connection"].create(
            {
                "name": "Nowhere",
                "api_key": self.sandbox.api_key,
                "base_url": "http://127.0.0.1:9/v1",
                "contact_email": "tests@example.com",
            }
        )
        with self.assertRaises(UserError) as caught:
            connection.cliniko_test_connection()
        self.assertIn("cannot be reached", str(caught.exception))
        self.assertNotIn(self.sandbox.api_key, str(caught.exception))

    def test_a_connection_without_a_key_cannot_be_tested(self):
        connection = self.env["cliniko.connection"].create(
            {"name": "Empty", "contact_email": "tests@example.com"}
        )
        with self.assertRaises(UserError):
            connection.cliniko_test_connection()
