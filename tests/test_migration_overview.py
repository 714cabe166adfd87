"""The Cliniko Migration menu's overview, walked step by step over one migration of the sandbox
clinic: each step's state (done / to do / blocked), its counts, and the next action."""

from odoo.tests import TransactionCase, tagged

from ..models.cliniko_migration_overview import STEPS
from .common import ClinikoSandboxCase

STEP_NAMES = [step for step, _label in STEPS]


@tagged("post_install", "-at_install")
class TestMigrationOverview(ClinikoSandboxCase):
    """One connection walked from its creation to Cliniko switched off, through the overview's
    own next-action buttons; what the overview said is kept after each step."""

    sandbox_options = {"seed": 3, "patients": 4}

    @classmethod
    def snap(cls, moment):
        connection = cls.connection
        cls.env.invalidate_all()
        cls.seen[moment] = {
            "next": connection.overview_next_step,
            "done": connection.overview_done_count,
            "states": {step: connection["overview_%s_state" % step] for step in STEP_NAMES},
            "summaries": {step: connection["overview_%s_summary" % step] for step in STEP_NAMES},
        }

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        connection = cls.connection
        Run = cls.env["cliniko.migration.run"]
        cls.seen = {}
        cls.snap("new")
        connection.cliniko_test_connection()
        cls.snap("connected")
        cls.audit_action = connection.action_overview_next()
        cls.audit = connection.source_audit_ids[:1]
        cls.snap("audited")
        cls.practitioners_action = connection.action_overview_next()
        cls.sample = Run.browse(cls.practitioners_action["res_id"])
        cls.snap("sample_created")
        cls.sample.action_resolve_practitioners()
        cls.undecided = cls.sample.practitioner_pending_count
        cls.snap("practitioners_read")
        cls.sample.practitioner_decision_ids.filtered(lambda line: not line.decision).write(
            {"decision": "unassigned"}
        )
        cls.snap("practitioners_decided")
        cls.map_action = connection.action_overview_next()
        cls.snap("map_proposed")
        cls.sample.field_map_id.action_confirm()
        cls.snap("map_confirmed")
        cls.sample.sample_size = 2
        cls.sample.with_context(cliniko_run_now=True).action_start()
        assert cls.sample.state == "done", cls.sample.error_message
        cls.snap("sampled")
        cls.run_action = connection.action_overview_next()
        cls.full = Run.browse(cls.sample.action_keep_sample()["res_id"])
        cls.full.unmatched_practitioners = "unassigned"
        cls.snap("full_prepared")
        cls.full.with_context(cliniko_run_now=True).action_start()
        assert cls.full.state == "done", cls.full.error_message
        cls.snap("migrated")
        cls.verify_action = connection.action_overview_next()
        cls.full.cliniko_verify()
        cls.snap("verified_once")
        cls.full.action_acknowledge_mismatches()
        cls.snap("verified")
        connection.delta_enabled = True
        cls.snap("delta_on")
        connection.action_switch_off_cliniko()
        cls.snap("switched_off")

    def assertStates(self, moment, **expected):
        states = self.seen[moment]["states"]
        for step, state in expected.items():
            self.assertEqual(states[step], state, "%s at %r: %s" % (step, moment, states))

    def test_a_new_connection_starts_with_connect_and_everything_else_waits(self):
        self.assertEqual(self.seen["new"]["next"], "connect")
        self.assertStates("new", connect="todo")
        self.assertEqual(
            {self.seen["new"]["states"][step] for step in STEP_NAMES[1:]}, {"blocked"}
        )
        self.assertIn("not tested", self.seen["new"]["summaries"]["connect"])
        self.assertIn("Connect", self.seen["new"]["summaries"]["audit"])
        self.assertEqual(self.seen["new"]["done"], 0)

    def test_a_tested_connection_leads_to_the_audit(self):
        seen = self.seen["connected"]
        self.assertEqual(seen["next"], "audit")
        self.assertStates(
            "connected",
            connect="done",
            audit="todo",
            practitioners="todo",
            map="todo",
            sample="blocked",
            run="blocked",
            verify="blocked",
            cutover="blocked",
        )
        self.assertIn("au1", seen["summaries"]["connect"])

    def test_the_audit_step_runs_the_audit_and_counts_its_findings(self):
        self.assertEqual(self.audit_action["res_model"], "cliniko.source.audit")
        self.assertEqual(self.audit_action["res_id"], self.audit.id)
        self.assertEqual(self.audit.state, "done")
        seen = self.seen["audited"]
        self.assertStates("audited", audit="done")
        self.assertIn("%s finding(s)" % len(self.audit.finding_ids), seen["summaries"]["audit"])
        self.assertIn(
            "%s patient(s) read" % self.audit.patient_count, seen["summaries"]["audit"]
        )
        self.assertEqual(seen["next"], "practitioners")

    def test_practitioners_are_resolved_on_a_draft_sample_the_overview_creates(self):
        self.assertEqual(self.practitioners_action["res_model"], "cliniko.migration.run")
        self.assertEqual(self.sample.run_type, "sample")
        self.assertStates("sample_created", practitioners="todo")
        self.assertIn("Not read yet", self.seen["sample_created"]["summaries"]["practitioners"])
        self.assertTrue(self.undecided, "the sandbox's practitioners match no Odoo user")
        seen = self.seen["practitioners_read"]
        self.assertStates("practitioners_read", practitioners="todo", sample="blocked")
        self.assertEqual(seen["next"], "practitioners")
        self.assertIn(
            "%s of %s practitioner(s) without a decision"
            % (self.undecided, len(self.sample.practitioner_decision_ids)),
            seen["summaries"]["practitioners"],
        )
        self.assertStates("practitioners_decided", practitioners="done")
        self.assertEqual(self.seen["practitioners_decided"]["next"], "map")

    def test_the_map_step_proposes_the_map_and_waits_for_its_confirmation(self):
        self.assertEqual(self.map_action["res_model"], "cliniko.field.map")
        self.assertEqual(self.map_action["res_id"], self.sample.field_map_id.id)
        seen = self.seen["map_proposed"]
        self.assertStates("map_proposed", map="todo", sample="blocked", run="blocked")
        self.assertEqual(seen["next"], "map")
        self.assertIn("Version 1 proposed, not confirmed", seen["summaries"]["map"])
        seen = self.seen["map_confirmed"]
        self.assertStates("map_confirmed", map="done", sample="todo", run="todo")
        self.assertIn("Version 1 confirmed by", seen["summaries"]["map"])
        self.assertEqual(seen["next"], "sample")

    def test_a_finished_sample_says_how_many_fields_differ(self):
        seen = self.seen["sampled"]
        self.assertStates("sampled", sample="done", run="todo", verify="blocked")
        self.assertEqual(seen["next"], "run")
        self.assertIn(
            "%s of %s field(s) differ"
            % (self.sample.sample_diff_mismatch_count, len(self.sample.sample_diff_ids)),
            seen["summaries"]["sample"],
        )
        self.assertTrue(self.sample.sample_diff_ids)
        # the run step opens the finished sample: keep it or roll it back
        self.assertEqual(
            (self.run_action["res_model"], self.run_action["res_id"]),
            ("cliniko.migration.run", self.sample.id),
        )

    def test_the_full_run_step_counts_what_the_run_did(self):
        self.assertStates("full_prepared", run="todo", sample="done")
        self.assertIn("Draft", self.seen["full_prepared"]["summaries"]["run"])
        seen = self.seen["migrated"]
        self.assertStates("migrated", run="done", verify="todo", cutover="todo")
        self.assertEqual(seen["next"], "verify")
        lines = self.full.resource_ids
        for counter in ("fetched", "created", "updated", "skipped", "failed"):
            self.assertIn(
                "%s %s" % (sum(lines.mapped(counter)), counter), seen["summaries"]["run"]
            )
        self.assertIn("not verified yet", seen["summaries"]["verify"])
        self.assertEqual(self.verify_action["res_id"], self.full.id)

    def test_verification_is_done_when_nothing_differs_unacknowledged(self):
        self.assertTrue(self.full.verified)
        once = self.seen["verified_once"]
        if once["states"]["verify"] == "todo":
            self.assertIn("to acknowledge", once["summaries"]["verify"])
        self.assertStates("verified", verify="done", cutover="todo")
        self.assertEqual(self.seen["verified"]["next"], "cutover")

    def test_the_cutover_shows_the_delta_schedule_then_the_end(self):
        self.assertIn("Delta sync is off", self.seen["verified"]["summaries"]["cutover"])
        self.assertIn("Delta sync every 60 min", self.seen["delta_on"]["summaries"]["cutover"])
        seen = self.seen["switched_off"]
        self.assertStates("switched_off", cutover="done")
        self.assertEqual(seen["next"], "finished")
        self.assertEqual(seen["done"], len(STEPS))
        self.assertEqual(
            self.connection.action_overview_next()["res_id"], self.connection.id
        )


@tagged("post_install", "-at_install")
class TestMigrationMenu(TransactionCase):
    """The app's menus: one top-level menu for migration managers, the overview first."""

    def test_every_migration_screen_is_under_one_top_level_menu(self):
        root = self.env.ref("cliniko_crm_migration.menu_cliniko_root")
        self.assertFalse(root.parent_id)
        self.assertEqual(root.web_icon, "cliniko_crm_migration,static/description/icon.png")
        first = root.child_id.sorted("sequence")[:1]
        self.assertEqual(first, self.env.ref("cliniko_crm_migration.menu_cliniko_overview"))
        self.assertEqual(
            first.action, self.env.ref("cliniko_crm_migration.action_cliniko_migration_overview")
        )
        menus = self.env["ir.ui.menu"].browse(
            self.env["ir.model.data"]
            .search([("module", "=", "cliniko_crm_migration"), ("model", "=", "ir.ui.menu")])
            .mapped("res_id")
        )
        clinic = self.env.ref("cliniko_crm_migration.menu_cliniko_clinic")
        for menu in menus:
            with self.subTest(menu=menu.complete_name):
                top = menu
                while top.parent_id:
                    top = top.parent_id
                self.assertIn(top, root | clinic.parent_id)
                if top == root:
                    self.assertLessEqual(len(menu.complete_name.split("/")), 3)
        config = self.env.ref("crm.crm_menu_config")
        self.assertFalse(menus.filtered(lambda menu: menu.parent_id == config))
