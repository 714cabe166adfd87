"""Shared set-up of the delta-sync tests: one full migration, then a clinic that changes.

The sandbox's clock is moved to the real time before each change, so what changes happens
after the full run's watermark (taken from Odoo's clock, as in production)."""

import time

from .common import ClinikoSandboxCase

# Patients of the seed-1 sandbox (12 patients), one per test so tests do not meet.
THOMAS = "1107841536323748398"
JACK = "1114574794168205876"
SOPHIE = "1254607557087986246"
ZOE = "1295767810932212344"
NOAH = "1396765332068106892"
FATIMA = "75001536"
FANG = "1382217650096046713"
XIUYING = "1254723666462114413"


class DeltaCase(ClinikoSandboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.full_run = cls.env["cliniko.migration.run"].create(
            {
                "connection_id": cls.connection.id,
                "unmatched_practitioners": "unassigned",
                "cliniko_accept_proposed_map": True,
            }
        )
        cls.full_run.action_start()
        assert cls.full_run.state == "done", cls.full_run.error_message

    @property
    def clinic(self):
        return self.sandbox.clinic

    def now_in_clinic(self):
        """Align the clinic's clock with the real one (a second later each call)."""
        self.clinic.now = max(time.time(), self.clinic.now.timestamp() + 1)

    def delta(self, **options):
        summary = self.connection.cliniko_delta_sync(**options)
        return self.env["cliniko.migration.run"].browse(summary["run_id"]), summary

    def partner(self, patient_id):
        return (
            self.env["res.partner"]
            .with_context(active_test=False)
            .search([("cliniko_patient_id", "=", patient_id)])
        )

    def patient_lead(self, patient_id):
        return (
            self.env["crm.lead"]
            ._cliniko_patient_leads(self.partner(patient_id))
            .get(self.partner(patient_id).id)
        )

    def appointment_of(self, patient_id):
        """A booked individual appointment of the patient (not cancelled, not deleted)."""
        return next(
            appointment
            for appointment_id, appointment in sorted(
                self.clinic.resources["individual_appointments"].items()
            )
            if appointment.get("patient_id") == patient_id
            and not appointment.get("cancelled_at")
            and not appointment.get("deleted_at")
            and not appointment.get("archived_at")
        )

    def appointment_lead(self, appointment_id):
        return (
            self.env["crm.lead"]
            .with_context(active_test=False)
            .search([("cliniko_appointment_id", "=", appointment_id)])
        )
