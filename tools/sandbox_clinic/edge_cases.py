"""The edge cases a migration must cope with, planted even in a 12-patient clinic.

``EDGE_CASE_KEYS`` names them; ``clinic.edge_cases`` maps each key to the planted record's ID.
The generator records the planted patients' cases here, plants the regular patient's full known
history and the orphan appointments (whose patient is gone for good).
"""

from .formats import CLINIC_OPENED, DAY, DEFAULT_NOW, full_name, iso, parse_iso

# fmt: off
EDGE_CASE_KEYS = (
    "legacy_id_patient", "only_last_name", "unicode_name", "cjk_name", "unparseable_phone",
    "international_phone", "invalid_email", "messy_email", "duplicate_email", "duplicate_phone",
    "archived_patient", "merged_patient", "merged_into", "deleted_patient", "sparse_patient",
    "patient_without_appointments", "medicare_without_irn", "regular_patient",
    "orphan_appointment", "orphan_patient_id", "cancelled_appointment",
    "did_not_arrive_appointment", "future_appointment", "deleted_appointment",
    "arrived_appointment", "long_treatment_note", "draft_treatment_note", "deleted_treatment_note",
    "unlinked_treatment_note", "deleted_invoice", "invoice_without_appointment",
    "group_appointment", "deleted_group_appointment", "cancelled_attendee", "attachments",
    "deleted_medical_alert", "patient_case", "inactive_practitioner", "practitioner_without_email",
    "practitioner_unusual_email", "archived_appointment_type", "group_appointment_type",
    "archived_business", "memo_communication",
    "deleted_treatment_note_template",
)


class EdgeCases:
    """Planting and indexing the edge cases."""

    def record_edge(self, role, pid, source):
        edge = self.edge
        simple = {
            "legacy": "legacy_id_patient",
            "only_last_name": "only_last_name",
            "unparseable_phone": "unparseable_phone",
            "invalid_email": "invalid_email",
            "archived": "archived_patient",
            "deleted": "deleted_patient",
            "sparse": "sparse_patient",
            "merged_winner": "merged_into",
            "merged_loser": "merged_patient",
        }
        if role in simple:
            edge[simple[role]] = pid
        if role == "only_last_name":
            edge["sparse_patient"] = edge["patient_without_appointments"] = pid
        if role == "invalid_email":
            edge["cjk_name"] = pid
        if role == "dup_email_b" and source:
            edge["duplicate_email"] = [source, pid]
            edge["messy_email"] = pid
        if role == "dup_phone_b" and source:
            edge["duplicate_phone"] = [source, pid]
            edge["unicode_name"] = pid
        if role == "dup_phone_a":
            edge["regular_patient"] = pid
        if role == "legacy":
            edge["international_phone"] = pid
            edge["medicare_without_irn"] = pid

    def edge_scan(self, patient):
        """Record the first occurrence of edge cases that random patients may also carry."""
        edge = self.edge
        if (
            "unicode_name" not in edge
            and not (patient["first_name"] + patient["last_name"]).isascii()
            and not patient["archived_at"]
            and not patient["deleted_at"]
        ):
            edge["unicode_name"] = patient["id"]

    def plant_regular_extras(self, patient, booked):
        (arrived, _, _), (dna, dna_att, _) = booked[0], booked[1]
        start = parse_iso(arrived["starts_at"])
        # a DNA fee invoice that was later deleted (with its items)
        t = parse_iso(dna["ends_at"]) + 3600
        invoice = self.invoice(
            patient,
            t,
            self.businesses[0],
            self.practitioners[0],
            [("item", self.dna_item)],
            appointment=dna["id"],
            attendee=dna_att["id"],
        )
        gone = iso(t + DAY)
        invoice["deleted_at"] = invoice["updated_at"] = gone
        for item in self.last_items:
            item["deleted_at"] = item["updated_at"] = gone
        self.edge["deleted_invoice"] = invoice["id"]
        # an invoice for goods only: no appointment, no practitioner
        self.edge["invoice_without_appointment"] = self.product_sale(
            patient, start + 2 * DAY, self.businesses[0]
        )["id"]
        # one attachment of each kind
        self.edge["attachments"] = {
            kind: self.attachment(patient, start + 3600 + i * 60, i)["id"]
            for i, kind in enumerate(("png", "pdf", "txt"))
        }
        # a note tied to no booking, and one deleted note
        self.edge["unlinked_treatment_note"] = self.note(
            patient, start + DAY, self.practitioners[0], None, draft=False
        )["id"]
        deleted = self.note(patient, start + 2 * DAY, self.practitioners[0], None, draft=True)
        deleted["deleted_at"] = deleted["updated_at"] = iso(start + 3 * DAY)
        self.edge["deleted_treatment_note"] = deleted["id"]
        alert = self.add(
            "medical_alerts",
            start - DAY,
            name="Old alert: recent surgery",
            patient_id=patient["id"],
            deleted_at=iso(start + 30 * DAY),
            updated=start + 30 * DAY,
        )
        self.edge["deleted_medical_alert"] = alert["id"]
        memo = self.communication(
            patient,
            start + 5 * DAY,
            12,
            3,
            direction=2,
            confidential=False,
            sender=full_name(patient),
            to="%s %s" % (self.owner["first_name"], self.owner["last_name"]),
            content="Patient rang: knee much better, wants to push next visit back a week.",
        )
        self.edge["memo_communication"] = memo["id"]
        if "draft_treatment_note" not in self.edge:
            self.edge["draft_treatment_note"] = self.note(
                patient, start + 4 * DAY, self.practitioners[0], None, draft=True
            )["id"]

    def make_orphan(self):
        """An appointment whose patient is gone for good (not even on /patients/deleted)."""
        rng = self.rng
        t = CLINIC_OPENED + 200 * DAY
        ghost = {
            "id": self.new_id(t - 30 * DAY, "patients"),
            "first_name": "Margaret",
            "last_name": "Oldfield",
            "created_at": iso(t - 30 * DAY),
            "appointment_notes": "",
            "patient_phone_numbers": [],
            "email": None,
            "reminder_type": "None",
            "receives_confirmation_emails": False,
            "concession_type_id": None,
            "invoice_default_to": "",
            "invoice_extra_information": "",
            "medicare": "",
        }
        while ghost["id"] in self.res["patients"]:
            ghost["id"] = self.new_id(t, "patients")
        appointment, _, _ = self.appointment(
            ghost,
            t - 30 * DAY,
            self.slot(t),
            self.standard_type,
            (self.practitioners[0], self.businesses[0]),
            forced="unmarked",
        )
        self.edge["orphan_appointment"] = appointment["id"]
        self.edge["orphan_patient_id"] = ghost["id"]
        for _ in range(self.size // 300):  # a few more in big clinics
            t = CLINIC_OPENED + int(rng.random() * (DEFAULT_NOW - CLINIC_OPENED - 60 * DAY))
            ghost = dict(ghost, id=self.new_id(t - DAY, "patients"), created_at=iso(t - DAY))
            self.appointment(
                ghost,
                t - DAY,
                self.slot(t),
                self.standard_type,
                (self.practitioners[0], self.businesses[0]),
                forced="unmarked",
            )
