"""Step 3, practitioner resolution: every Cliniko practitioner with its proposed Odoo user, the
certain e-mail matches pre-decided, the others waiting for the admin; a run with undecided
practitioners refuses to start."""

from odoo.exceptions import UserError

from .common import ClinikoSandboxCase


class TestPractitionerResolution(ClinikoSandboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        clinic = cls.sandbox.clinic
        cls.practitioners = clinic.resources["practitioners"]
        odd = {
            clinic.edge_cases["practitioner_without_email"],
            clinic.edge_cases["practitioner_unusual_email"],
        }
        cls.matched_id = next(pid for pid in cls.practitioners if pid not in odd)
        email = clinic.resources["users"][cls.practitioners[cls.matched_id]["user_id"]]["email"]
        cls.matched_user = (
            cls.env["res.users"]
            .with_context(no_reset_password=True)
            .create(
                {
                    "name": "Matched Practitioner",
                    "login": "matched.practitioner",
                    "email": email.upper(),
                    "group_ids": [(6, 0, [cls.env.ref("base.group_user").id])],
                }
            )
        )

    def new_run(self, **values):
        """A draft run; started, it runs at once with the proposed field map (as in
        ``migrate``): these tests are about practitioners."""
        return (
            self.env["cliniko.migration.run"]
            .with_context(cliniko_accept_proposed_map=True, cliniko_run_now=True)
            .create(dict({"connection_id": self.connection.id}, **values))
        )

    def decision(self, run, cliniko_id):
        return run.practitioner_decision_ids.filtered(lambda d: d.cliniko_id == cliniko_id)

    def test_every_practitioner_active_or_inactive_gets_a_row(self):
        run = self.new_run()
        run.action_resolve_practitioners()
        self.assertEqual(
            set(run.practitioner_decision_ids.mapped("cliniko_id")), set(self.practitioners)
        )
        inactive = self.sandbox.clinic.edge_cases["inactive_practitioner"]
        self.assertFalse(self.decision(run, inactive).cliniko_active)
        self.assertTrue(run.practitioners_resolved_at)

    def test_a_certain_email_match_is_decided_map_to_that_user(self):
        run = self.new_run()
        run.action_resolve_practitioners()
        decision = self.decision(run, self.matched_id)
        self.assertEqual(decision.decision, "map")
        self.assertEqual(decision.user_id, self.matched_user)
        self.assertEqual(decision.proposed_user_id, self.matched_user)
        self.assertFalse(decision.applied)

    def test_unmatched_practitioners_are_left_undecided_with_the_reason(self):
        run = self.new_run()
        run.action_resolve_practitioners()
        pid = self.sandbox.clinic.edge_cases["practitioner_without_email"]
        decision = self.decision(run, pid)
        self.assertFalse(decision.decision)
        self.assertEqual(decision.reason, "no e-mail in Cliniko")
        undecided = run.practitioner_decision_ids.filtered(lambda d: not d.decision)
        self.assertEqual(len(undecided), len(self.practitioners) - 1)

    def test_resolving_again_keeps_the_admins_decisions_and_adds_no_row(self):
        run = self.new_run()
        run.action_resolve_practitioners()
        pid = self.sandbox.clinic.edge_cases["practitioner_without_email"]
        self.decision(run, pid).decision = "unassigned"
        run.action_resolve_practitioners()
        self.assertEqual(len(run.practitioner_decision_ids), len(self.practitioners))
        self.assertEqual(self.decision(run, pid).decision, "unassigned")
        self.assertFalse(self.decision(run, pid).applied)

    def test_a_run_with_undecided_practitioners_refuses_to_start(self):
        run = self.new_run(resources="practitioners")
        run.action_resolve_practitioners()
        with self.assertRaises(UserError) as caught:
            run.action_start()
        self.assertIn("no decision yet", str(caught.exception))
        self.assertEqual(run.state, "draft")
        self.assertFalse(run.audit_ids)

    def test_the_run_starts_once_every_practitioner_is_decided(self):
        run = self.new_run(resources="practitioners")
        run.action_resolve_practitioners()
        run.practitioner_decision_ids.filtered(lambda d: not d.decision).write(
            {"decision": "unassigned"}
        )
        run.action_start()
        self.assertEqual(run.state, "done", run.error_message)
        self.assertEqual(self.matched_user.cliniko_practitioner_id, self.matched_id)
        self.assertTrue(self.decision(run, self.matched_id).applied)

    def test_a_run_with_a_default_policy_is_not_refused(self):
        run = self.new_run(resources="practitioners")
        run.action_resolve_practitioners()
        run.unmatched_practitioners = "unassigned"
        run.action_start()
        self.assertEqual(run.state, "done", run.error_message)

    def test_a_run_whose_practitioners_were_never_read_is_not_refused(self):
        run = self.new_run(resources="practitioners")
        run.action_start()
        self.assertNotEqual(run.state, "draft")

    def test_a_practitioner_bound_by_an_earlier_run_is_listed_as_mapped(self):
        self.migrate(resources="practitioners")
        run = self.new_run()
        run.action_resolve_practitioners()
        decision = self.decision(run, self.matched_id)
        self.assertEqual(decision.decision, "map")
        self.assertEqual(decision.user_id, self.matched_user)
        self.assertTrue(decision.applied)
        self.assertIn("earlier run", decision.reason)

    def test_resolution_is_refused_once_the_run_has_finished(self):
        run = self.migrate(resources="practitioners")
        with self.assertRaises(UserError):
            run.action_resolve_practitioners()

    def test_the_cli_summary_lists_the_undecided(self):
        run = self.new_run()
        summary = run.cliniko_resolve_practitioners()
        self.assertEqual(summary["decisions"][self.matched_id], "map")
        self.assertEqual(len(summary["undecided"]), len(self.practitioners) - 1)
