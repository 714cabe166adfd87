"""Conflict safety: a delta never overwrites what someone changed in Odoo since the last sync."""

from .delta_common import FATIMA, XIUYING, DeltaCase


class TestConflicts(DeltaCase):
    def test_an_odoo_edit_survives_a_delta_and_shows_as_a_conflict(self):
        partner = self.partner(FATIMA)
        partner.city = "Edited in Odoo"
        self.now_in_clinic()
        self.clinic.update("patients", FATIMA, city="Changed in Cliniko", address_1="1 New St")
        run, summary = self.delta()
        self.assertEqual(run.state, "done", run.error_message)
        self.assertEqual(partner.city, "Edited in Odoo")
        self.assertEqual(partner.street, "1 New St", "fields nobody touched in Odoo follow Cliniko")
        conflict = run.conflict_ids.filtered(
            lambda c: c.res_model == "res.partner" and c.field_name == "city"
        )
        self.assertEqual(len(conflict), 1)
        self.assertEqual(conflict.odoo_value, "Edited in Odoo")
        self.assertEqual(conflict.cliniko_value, "Changed in Cliniko")
        self.assertEqual(conflict.state, "open")
        self.assertEqual(conflict.cliniko_id, FATIMA)
        patients = summary["resources"]["patients"]
        self.assertGreaterEqual(patients["conflicted"], 1)
        self.assertGreaterEqual(patients["updated"], patients["conflicted"])
        self.assertCountersAddUp(run)

    def test_take_cliniko_value_applies_it_and_the_next_delta_follows_cliniko_again(self):
        partner = self.partner(FATIMA)
        partner.city = "Edited in Odoo"
        self.now_in_clinic()
        self.clinic.update("patients", FATIMA, city="Changed in Cliniko")
        run, _summary = self.delta()
        conflict = run.conflict_ids.filtered(lambda c: c.field_name == "city")
        conflict.action_take_cliniko_value()
        self.assertEqual(partner.city, "Changed in Cliniko")
        self.assertEqual(conflict.state, "resolved")
        self.now_in_clinic()
        self.clinic.update("patients", FATIMA, city="Moved again")
        run, _summary = self.delta()
        self.assertEqual(partner.city, "Moved again")
        self.assertFalse(run.conflict_ids)

    def test_keep_odoo_value_closes_the_conflict_and_keeps_the_edit(self):
        partner = self.partner(FATIMA)
        partner.city = "Edited in Odoo"
        self.now_in_clinic()
        self.clinic.update("patients", FATIMA, city="Changed in Cliniko")
        run, _summary = self.delta()
        conflict = run.conflict_ids.filtered(lambda c: c.field_name == "city")
        conflict.action_keep_odoo_value()
        self.assertEqual(conflict.state, "kept")
        self.assertEqual(partner.city, "Edited in Odoo")

    def test_an_odoo_edit_of_a_field_cliniko_did_not_change_is_kept_without_conflict(self):
        partner = self.partner(XIUYING)
        partner.zip = "9999"
        self.now_in_clinic()
        self.clinic.update("patients", XIUYING, occupation="Pilot")
        run, _summary = self.delta()
        self.assertEqual(run.state, "done", run.error_message)
        self.assertEqual(partner.zip, "9999")
        self.assertEqual(partner.function, "Pilot")
        self.assertFalse(
            run.conflict_ids.filtered(lambda c: c.cliniko_id == XIUYING and c.field_name == "zip")
        )

    def test_the_salesperson_and_stage_staff_set_on_a_lead_are_never_overwritten(self):
        lead = self.patient_lead(XIUYING)
        stage = self.env["crm.stage"].search([("id", "!=", lead.stage_id.id)], limit=1)
        lead.write({"user_id": self.env.user.id, "stage_id": stage.id})
        self.now_in_clinic()
        self.clinic.update("patients", XIUYING, last_name="Li-Changed")
        run, _summary = self.delta()
        self.assertEqual(run.state, "done", run.error_message)
        self.assertEqual(lead.user_id, self.env.user)
        self.assertEqual(lead.stage_id, stage)
        self.assertIn("Li-Changed", lead.name)
        self.assertFalse(
            run.conflict_ids.filtered(lambda c: c.field_name in ("user_id", "stage_id"))
        )

    def test_a_repeated_conflict_refreshes_the_open_one_rather_than_adding_another(self):
        partner = self.partner(FATIMA)
        partner.city = "Edited in Odoo"
        self.now_in_clinic()
        self.clinic.update("patients", FATIMA, city="First")
        self.delta()
        self.now_in_clinic()
        self.clinic.update("patients", FATIMA, city="Second")
        self.delta()
        conflicts = self.env["cliniko.sync.conflict"].search(
            [("cliniko_id", "=", FATIMA), ("field_name", "=", "city"), ("state", "=", "open")]
        )
        self.assertEqual(len(conflicts), 1)
        self.assertEqual(conflicts.cliniko_value, "Second")
        self.assertEqual(partner.city, "Edited in Odoo")
