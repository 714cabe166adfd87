"""Re-running a migration updates instead of duplicating; rolling a run back undoes it."""

import copy

from .common import ClinikoSandboxCase

TOUCHED_MODELS = ("res.partner", "crm.lead", "cliniko.external.ref")


class TestRerunAndRollback(ClinikoSandboxCase):
    """One full run in ``setUpClass``; each test rolls back or re-runs inside its own savepoint,
    and a change it makes in the sandbox is put back when it ends."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.before = cls.row_counts()
        cls.first = cls.start_run()
        assert cls.first.state == "done", cls.first.error_message

    @classmethod
    def row_counts(cls):
        return {
            model: cls.env[model].with_context(active_test=False).search_count([])
            for model in TOUCHED_MODELS
        }

    def some_patient_id(self):
        return next(
            pid
            for pid, p in sorted(self.sandbox.clinic.resources["patients"].items())
            if not p.get("deleted_at")
            and not p.get("merged_at")
            and not p.get("archived_at")
            and (p.get("last_name") or "").strip()
        )

    def change_in_cliniko(self, pid, **values):
        """Change a patient in the sandbox for this test only (the class's run must keep
        matching the clinic for the tests after this one)."""
        record = self.sandbox.clinic.resources["patients"][pid]
        saved = copy.deepcopy(record)

        def put_back():
            record.clear()
            record.update(saved)
            self.sandbox.clinic.touch()

        self.addCleanup(put_back)
        self.sandbox.clinic.tick(60)
        self.sandbox.clinic.update("patients", pid, **values)

    def partner_of(self, patient_id):
        return self.migrated_partners().filtered(lambda p: p.cliniko_patient_id == patient_id)

    def test_running_again_creates_no_duplicates(self):
        counts = self.row_counts()
        second = self.migrate()
        self.assertEqual(second.state, "done")
        self.assertEqual(self.row_counts(), counts)
        summary = second.summary()["resources"]["patients"]
        self.assertEqual(summary["created"], 0)
        self.assertEqual(summary["updated"], 0)
        self.assertGreater(summary["unchanged"], 0)
        self.assertEqual(summary["unchanged"] + summary["skipped"], summary["fetched"])
        self.assertEqual(
            summary["fetched"], self.first.summary()["resources"]["patients"]["fetched"]
        )
        self.assertCountersAddUp(second)

    def test_a_patient_changed_in_cliniko_is_updated_with_its_previous_values_audited(self):
        pid = self.some_patient_id()
        old_city = self.partner_of(pid).city
        self.change_in_cliniko(pid, city="Ballarat")
        run = self.migrate(resources="patients")
        summary = run.summary()["resources"]["patients"]
        self.assertEqual(summary["updated"], 1)
        self.assertEqual(summary["created"], 0)
        self.assertEqual(self.partner_of(pid).city, "Ballarat")
        line = run.audit_ids.filtered(
            lambda a: a.action == "update" and a.res_model == "res.partner"
        )
        self.assertEqual(line.cliniko_id, pid)
        previous = line.previous_values["values"]
        self.assertEqual(previous["city"], old_city or False)
        self.assertIn("cliniko_updated_at", previous)
        self.assertEqual(set(previous), {"city", "cliniko_updated_at"})

    def test_rollback_removes_exactly_what_the_run_created(self):
        before = dict(self.before)
        # a contact not from Cliniko, made after the run: the rollback leaves it alone
        unrelated = self.env["res.partner"].create({"name": "Walk-in, not from Cliniko"})
        before["res.partner"] += 1
        run = self.first
        self.assertGreater(self.row_counts()["res.partner"], before["res.partner"])
        run.action_rollback()
        self.assertEqual(run.state, "rolled_back")
        self.assertEqual(self.row_counts(), before)
        self.assertTrue(unrelated.exists())
        self.assertTrue(run.audit_ids.filtered(lambda a: a.is_rollback and a.action == "delete"))

    def test_rollback_of_an_update_restores_the_previous_values(self):
        pid = self.some_patient_id()
        partner = self.partner_of(pid)
        old = {"city": partner.city, "cliniko_updated_at": partner.cliniko_updated_at}
        ref = self.env["cliniko.external.ref"].search([("cliniko_id", "=", pid)])
        old_ref_updated_at = ref.source_updated_at
        self.change_in_cliniko(pid, city="Geelong")
        update_run = self.migrate(resources="patients")
        self.assertEqual(partner.city, "Geelong")
        counts = self.row_counts()
        update_run.action_rollback()
        self.assertEqual(partner.city, old["city"])
        self.assertEqual(partner.cliniko_updated_at, old["cliniko_updated_at"])
        self.assertEqual(ref.source_updated_at, old_ref_updated_at)
        self.assertEqual(self.row_counts(), counts)

    def test_rolling_back_twice_is_harmless(self):
        run = self.first
        run.action_rollback()
        lines = len(run.audit_ids)
        run.action_rollback()
        self.assertEqual(len(run.audit_ids), lines)
        self.assertEqual(self.row_counts(), self.before)

    def test_after_a_rollback_a_new_run_migrates_everything_again(self):
        created = self.first.summary()["resources"]["patients"]["created"]
        self.first.action_rollback()
        again = self.migrate()
        self.assertEqual(again.summary()["resources"]["patients"]["created"], created)
