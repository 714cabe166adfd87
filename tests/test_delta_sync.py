"""Delta sync: what changed in Cliniko since the last sync arrives in Odoo, and only that."""

import json

from odoo import fields

from .delta_common import FANG, JACK, NOAH, SOPHIE, THOMAS, ZOE, DeltaCase

USED = {THOMAS, JACK, SOPHIE, ZOE, NOAH, FANG}


class TestDeltaSync(DeltaCase):
    def test_the_full_run_sets_the_watermark_it_took_before_reading(self):
        run = self.full_run
        self.assertTrue(run.delta_watermark)
        self.assertLessEqual(run.delta_watermark, run.finished_at)
        self.assertEqual(self.connection.delta_watermark, run.delta_watermark)

    def test_a_delta_asks_only_for_what_changed_since_the_watermark_minus_the_buffer(self):
        since = fields.Datetime.subtract(self.connection.delta_watermark, minutes=5)
        self.sandbox.requests_log.clear()
        run, summary = self.delta()
        self.assertEqual(summary["state"], "done", summary["error"])
        self.assertEqual(run.delta_since, since)
        patients = [
            entry["query"] for entry in self.sandbox.requests_log if entry["path"] == "/v1/patients"
        ]
        self.assertTrue(patients)
        self.assertTrue(all("updated_at" in query for query in patients), patients)

    def test_a_new_patient_is_created_with_its_lead_and_reference(self):
        self.now_in_clinic()
        new = self.clinic.create("patients", first_name="Delta", last_name="Newcomer")
        run, summary = self.delta()
        self.assertEqual(run.state, "done", run.error_message)
        partner = self.partner(new["id"])
        self.assertEqual(partner.name, "Delta Newcomer")
        self.assertTrue(self.patient_lead(new["id"]))
        self.assertGreaterEqual(summary["resources"]["patients"]["created"], 1)
        self.assertTrue(
            run.audit_ids.filtered(lambda a: a.action == "create" and a.cliniko_id == new["id"])
        )
        self.assertCountersAddUp(run)

    def test_a_patient_changed_in_cliniko_is_updated(self):
        self.now_in_clinic()
        self.clinic.update("patients", THOMAS, city="Ballarat")
        run, _summary = self.delta()
        self.assertEqual(run.state, "done", run.error_message)
        self.assertEqual(self.partner(THOMAS).city, "Ballarat")
        line = run.audit_ids.filtered(
            lambda a: (
                a.cliniko_id == THOMAS and a.action == "update" and a.res_model == "res.partner"
            )
        )
        self.assertTrue(line)

    def test_an_archived_patient_is_archived_in_odoo(self):
        self.assertTrue(self.partner(JACK).active)
        self.now_in_clinic()
        self.clinic.archive("patients", JACK)
        run, _summary = self.delta()
        self.assertEqual(run.state, "done", run.error_message)
        self.assertFalse(self.partner(JACK).active)
        self.assertFalse(self.patient_lead(JACK).active)

    def test_a_deleted_patient_is_archived_and_logged_never_deleted(self):
        partner = self.partner(SOPHIE)
        lead = self.patient_lead(SOPHIE)
        self.now_in_clinic()
        self.clinic.delete("patients", SOPHIE)
        run, _summary = self.delta()
        self.assertEqual(run.state, "done", run.error_message)
        self.assertTrue(partner.exists())
        self.assertFalse(partner.active)
        self.assertFalse(lead.active)
        lines = run.audit_ids.filtered(lambda a: a.cliniko_id == SOPHIE and a.action == "update")
        self.assertEqual(set(lines.mapped("res_model")), {"res.partner", "crm.lead"})
        self.assertIn("deleted in Cliniko", lines[0].message)
        self.assertIn("archived, deleted in Cliniko", run.log)

    def test_a_cancelled_appointment_moves_to_the_cancelled_stage_with_its_reason(self):
        appointment = next(
            a
            for _id, a in sorted(self.clinic.resources["individual_appointments"].items())
            if a.get("patient_id") not in USED
            and not a.get("cancelled_at")
            and not a.get("deleted_at")
            and not a.get("archived_at")
            and self.appointment_lead(a["id"])
        )
        self.now_in_clinic()
        self.clinic.cancel("individual_appointments", appointment["id"], reason=20, note="Flu")
        run, _summary = self.delta()
        self.assertEqual(run.state, "done", run.error_message)
        lead = self.appointment_lead(appointment["id"])
        self.assertEqual(lead.stage_id.cliniko_status, "cancelled")
        self.assertEqual(lead.cliniko_appointment_status, "cancelled")
        self.assertTrue(lead.cliniko_cancellation_description)
        self.assertEqual(lead.cliniko_cancellation_note, "Flu")

    def test_a_merged_patient_is_folded_into_the_surviving_patient(self):
        loser, winner = self.partner(ZOE), self.partner(NOAH)
        loser_lead, winner_lead = self.patient_lead(ZOE), self.patient_lead(NOAH)
        note = loser_lead.message_post(body="Seen by reception")  # history on the loser's lead
        self.now_in_clinic()
        self.clinic.merge_patients(ZOE, NOAH)
        run, _summary = self.delta()
        self.assertEqual(run.state, "done", run.error_message)
        self.assertFalse(loser.active)
        self.assertFalse(loser_lead.active)
        self.assertTrue(winner.active)
        self.assertEqual(note.res_id, winner_lead.id)
        leads = self.env["crm.lead"].with_context(active_test=False)
        self.assertFalse(leads.search([("partner_id", "=", loser.id), ("id", "!=", loser_lead.id)]))
        self.assertIn("merged into %s" % NOAH, run.log)

    def test_the_overlap_rereads_records_without_duplicating_them(self):
        self.now_in_clinic()
        self.clinic.update("patients", FANG, city="Geelong")
        first, _summary = self.delta()
        self.assertEqual(first.state, "done", first.error_message)
        partners = self.migrated_partners()
        refs = self.env["cliniko.external.ref"].search_count([])
        # the second window starts 5 minutes before the first delta's watermark: FANG again
        second, summary = self.delta()
        self.assertEqual(second.state, "done", second.error_message)
        self.assertLessEqual(second.delta_since, first.delta_watermark)
        self.assertEqual(self.migrated_partners(), partners)
        self.assertEqual(self.env["cliniko.external.ref"].search_count([]), refs)
        patients = summary["resources"]["patients"]
        self.assertGreaterEqual(patients["fetched"], 1)
        self.assertEqual(patients["created"], 0)
        self.assertEqual(patients["updated"], 0)
        self.assertGreater(patients["unchanged"], 0)
        self.assertEqual(patients["unchanged"] + patients["skipped"], patients["fetched"])
        self.assertCountersAddUp(second)

    def test_the_watermark_advances_after_a_successful_delta_only(self):
        before = self.connection.delta_watermark
        key = self.connection.api_key
        self.connection.api_key = "0" * 20 + key[20:]  # Cliniko refuses it (401)
        failed, summary = self.delta()
        self.assertEqual(failed.state, "failed")
        self.assertEqual(self.connection.delta_watermark, before)
        self.assertFalse(self.connection.delta_last_success)
        self.connection.api_key = key
        done, summary = self.delta()
        self.assertEqual(done.state, "done", summary["error"])
        self.assertEqual(self.connection.delta_watermark, done.delta_watermark)
        self.assertGreater(self.connection.delta_watermark, before)
        self.assertTrue(self.connection.delta_last_success)

    def test_cliniko_answering_5xx_for_a_while_does_not_fail_the_delta(self):
        self.sandbox.fail_next(count=3, status=503)
        run, summary = self.delta()
        self.assertEqual(run.state, "done", summary["error"])
        self.assertIn("Waited", run.log)
        self.assertIn("503", run.log)

    def test_the_summary_for_the_command_line_is_json_with_conflicts_and_watermark(self):
        _run, summary = self.delta()
        self.assertEqual(summary["run_type"], "delta")
        self.assertTrue(summary["watermark"])
        self.assertIn("conflicted", summary["resources"]["patients"])
        json.dumps(summary)

    def test_the_scheduled_job_syncs_due_connections_only(self):
        Run = self.env["cliniko.migration.run"]
        deltas = Run.search_count([("run_type", "=", "delta")])
        self.env["cliniko.connection"]._cron_cliniko_delta_sync()
        self.assertEqual(Run.search_count([("run_type", "=", "delta")]), deltas, "not enabled")
        self.connection.write({"delta_enabled": True, "delta_interval_minutes": 60})
        self.env["cliniko.connection"]._cron_cliniko_delta_sync()
        self.assertEqual(Run.search_count([("run_type", "=", "delta")]), deltas + 1)
        self.assertTrue(self.connection.delta_next_at)
        self.env["cliniko.connection"]._cron_cliniko_delta_sync()
        self.assertEqual(Run.search_count([("run_type", "=", "delta")]), deltas + 1, "not due")

    def test_a_delta_before_any_full_migration_fails_in_plain_words(self):
        other = self.connection.copy({"name": "Never migrated"})
        other.api_key = self.connection.api_key
        summary = other.cliniko_delta_sync()
        self.assertEqual(summary["state"], "failed")
        self.assertIn("full migration", summary["error"])
