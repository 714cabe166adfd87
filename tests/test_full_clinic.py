"""The whole clinic in one run: every resource of the graph, in order, and back out again."""

from odoo.tests import tagged

from ..migration import graph
from .common import ClinikoSandboxCase, outside_runs

# Every table a full run writes to (a missing model here would hide a leak from the rollback).
TOUCHED_MODELS = (
    "res.partner",
    "res.users",
    "crm.lead",
    "calendar.event",
    "calendar.attendee",
    "mail.message",
    "ir.attachment",
    "product.template",
    "product.product",
    "cliniko.location",
    "cliniko.appointment.type",
    "cliniko.invoice",
    "cliniko.invoice.line",
    "cliniko.external.ref",
)


@tagged("post_install", "-at_install")
class TestFullClinic(ClinikoSandboxCase):
    """One full run in ``setUpClass``, with placeholder users for the practitioners (so every
    table is written); tests that roll it back do so inside their own savepoint."""

    sandbox_options = {"seed": 7, "patients": 30}
    default_unmatched_practitioners = "placeholder"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.before = cls.row_counts()
        cls.mails_before = cls.env["mail.mail"].sudo().search_count([])
        cls.migration = cls.start_run()

    @classmethod
    def row_counts(cls):
        return {
            model: cls.env[model]
            .sudo()
            .with_context(active_test=False)
            .search_count(outside_runs(model))
            for model in TOUCHED_MODELS
        }

    def counters(self, run):
        return {
            line.resource: {
                name: line[name]
                for name in ("fetched", "created", "updated", "unchanged", "skipped", "failed")
            }
            for line in run.resource_ids
        }

    def test_every_resource_is_migrated_in_graph_order_with_counts_that_reconcile(self):
        run = self.migration
        self.assertEqual(run.state, "done", run.log)
        counts = self.counters(run)
        self.assertEqual(set(counts), set(graph.names()), "a resource of the graph did not run")
        order = [line.resource for line in run.resource_ids.sorted("sequence")]
        self.assertEqual(order, [resource.name for resource in graph.load_order()])
        self.assertCountersAddUp(run)
        client = self.connection._get_client()
        for resource in graph.GRAPH:
            with self.subTest(resource=resource.name):
                line = counts[resource.name]
                listed = client.count(
                    "/" + resource.name,
                    [("q[]", condition) for condition in resource.list_filters],
                )
                # Some importers read an extra list (inactive practitioners, deleted rows):
                # never fewer than the main list.
                self.assertGreaterEqual(line["fetched"], listed)
                self.assertGreater(line["fetched"], 0, "the sandbox plants every resource")
                self.assertGreater(line["created"], 0)  # practitioners: placeholder users
        # Every created record has its reference row and its audit line, every failure its reason.
        Log = self.env["cliniko.audit.log"]
        for resource, line in counts.items():
            with self.subTest(resource=resource):
                logged = Log.search([("run_id", "=", run.id), ("resource", "=", resource)])
                failed = logged.filtered(lambda log: log.action == "fail")
                self.assertEqual(len(failed), line["failed"])
                self.assertTrue(all(failed.mapped("message")), "a failure without its reason")
                skipped = logged.filtered(lambda log: log.action == "skip" and not log.unchanged)
                self.assertEqual(len(skipped), line["skipped"])
                self.assertTrue(all(skipped.mapped("message")), "a skip without its reason")
        refs = self.env["cliniko.external.ref"].search([("connection_id", "=", self.connection.id)])
        self.assertTrue(refs)
        for ref in refs:
            self.assertTrue(self.env[ref.res_model].browse(ref.res_id).exists(), ref.display_name)

    def test_a_second_run_creates_nothing(self):
        before = self.row_counts()
        again = self.migrate()
        self.assertEqual(again.state, "done", again.log)
        self.assertCountersAddUp(again)
        self.assertEqual(sum(again.resource_ids.mapped("created")), 0)
        self.assertEqual(self.row_counts(), before)

    def test_rollback_returns_every_table_to_its_previous_row_count(self):
        before = self.before
        run = self.migration
        after = self.row_counts()
        for model in TOUCHED_MODELS:
            self.assertGreater(after[model], before[model], model)
        run.action_rollback()
        self.assertEqual(run.state, "rolled_back")
        self.assertEqual(self.row_counts(), before)
        # Rolling back twice changes nothing.
        run.action_rollback()
        self.assertEqual(self.row_counts(), before)

    def test_placeholder_users_are_created_silently_and_rolled_back(self):
        before, mails = self.before, self.mails_before
        run = self.migration
        self.assertEqual(run.state, "done", run.log)
        self.assertGreater(self.row_counts()["res.users"], before["res.users"])
        self.assertEqual(self.env["mail.mail"].sudo().search_count([]), mails, "a mail was queued")
        run.action_rollback()
        self.assertEqual(self.row_counts(), before)
