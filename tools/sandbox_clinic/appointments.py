"""Generator: each patient's appointment history (individual appointments with their
attendee, reminders, confirmations, invoices and notes that follow), patient cases, and the
group classes made once every patient exists.
"""

import bisect
import time

from .formats import (
    DAY,
    DEFAULT_NOW,
    HYDRO_ARCHIVED_AT,
    MELBOURNE_OFFSET,
    OLD_ROOMS_CLOSED_AT,
    PRACTITIONERS_LEFT_AT,
    full_name,
    is_valid_email,
    iso,
    iso_date,
)
from .schema import CANCELLATION_REASONS
from .vocabulary import COMMUNICATION_REPLIES, MEDICAL_ALERTS


class Appointments:
    """Appointments, their attendees and the group classes."""

    PAST_STATUSES = ((0.10, "cancelled"), (0.17, "dna"), (0.92, "arrived"), (1.0, "unmarked"))
    APPOINTMENT_COUNTS = (0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 6, 7, 9)

    # -- individual appointments and what follows from them ----------------------------------
    def practitioner_at(self, t, usual):
        if usual is not None and (usual["active"] or t < PRACTITIONERS_LEFT_AT):
            if self.rng.random() < 0.8:
                return usual
        pool = self.practitioners if t < PRACTITIONERS_LEFT_AT else self.active_practitioners
        return pool[int(self.rng.random() * (len(pool)))]

    def business_at(self, t, usual):
        if t < OLD_ROOMS_CLOSED_AT and self.rng.random() < 0.15:
            return self.closed_business
        return usual

    def slot(self, t):
        """A 15-minute slot between 8am and 6pm Melbourne time, on or after ``t``."""
        day = int(t) // DAY
        start = day * DAY + (21 * 3600 + int(self.rng.random() * 44) * 900) % DAY
        return start + DAY if start < t else start

    def patient_history(self, patient, created, end, regular=False):
        rng = self.rng
        r = rng.random
        pid = patient["id"]
        usual_prac = self.practitioner_at(created, None)
        usual_biz = (
            self.businesses[0]
            if r() < 0.7
            else self.businesses[int(rng.random() * (len(self.businesses)))]
        )
        count = self.APPOINTMENT_COUNTS[int(rng.random() * (len(self.APPOINTMENT_COUNTS)))]
        horizon = (
            min(end, DEFAULT_NOW + 60 * DAY) if patient["archived_at"] else DEFAULT_NOW + 60 * DAY
        )
        starts = sorted(
            self.slot(created + 3600 + r() * max(horizon - created - 7200, 3600))
            for _ in range(count)
        )
        if patient["archived_at"]:
            starts = [s for s in starts if s + 3 * 3600 < end]
        plan = [(s, None) for s in starts]
        if regular:
            # a full, known history: arrived (long note, all attachments), DNA (deleted fee
            # invoice), cancelled, deleted, and one booked in the future
            base = max(created + 2 * DAY, DEFAULT_NOW - 200 * DAY)
            plan = [
                (self.slot(base), "arrived_long"),
                (self.slot(base + 20 * DAY), "dna"),
                (self.slot(base + 40 * DAY), "cancelled"),
                (self.slot(base + 45 * DAY), "deleted"),
                (self.slot(base + 60 * DAY), "arrived"),
                (self.slot(DEFAULT_NOW + 7 * DAY), "future"),
            ]
        booked = []
        for j, (start, forced) in enumerate(plan):
            kind = (
                self.initial_type
                if j == 0
                else (
                    self.standard_type
                    if r() < 0.6
                    else self.individual_types[int(rng.random() * (len(self.individual_types)))]
                )
            )
            if kind is getattr(self, "hydro", None) and start >= HYDRO_ARCHIVED_AT:
                kind = self.standard_type
            prac = self.practitioner_at(start, usual_prac)
            biz = self.business_at(start, usual_biz)
            booked.append(
                self.appointment(patient, created, start, kind, (prac, biz), forced=forced)
            )
        if regular:
            self.plant_regular_extras(patient, booked)
        # the patient's other records
        if r() < 0.06 or regular:
            for _ in range(1 + (r() < 0.3)):
                t = created + int(r() * (min(end, DEFAULT_NOW) - created))
                self.add(
                    "medical_alerts",
                    t,
                    "other",
                    name=MEDICAL_ALERTS[int(rng.random() * (len(MEDICAL_ALERTS)))],
                    patient_id=pid,
                )
        if r() < 0.3:
            self.referral_source(patient, created)
        if r() < 0.06 and not regular:
            kind = int(rng.random() * 3)
            self.attachment(patient, created + int(r() * (min(end, DEFAULT_NOW) - created)), kind)
        if r() < 0.03:
            self.note(
                patient,
                created + int(r() * (min(end, DEFAULT_NOW) - created)),
                None,
                None,
                draft=False,
            )
        if r() < 0.03 and patient["email"]:
            self.product_sale(
                patient, created + int(r() * (min(end, DEFAULT_NOW) - created)), usual_biz
            )
        if r() < 0.02:
            t = created + int(r() * (min(end, DEFAULT_NOW) - created))
            self.communication(
                patient,
                t,
                12,
                3,
                content="Called re: referral letter. Left voicemail.",
                sender="%s %s" % (self.owner["first_name"], self.owner["last_name"]),
                to=full_name(patient),
                confidential=r() < 0.3,
            )
        if (r() < 0.05 and patient["referring_doctor_id"]) or regular:
            self.patient_case(patient, created, booked)
        if booked and (r() < 0.25 or regular):
            self.patient_form(patient, booked[0])

    def appointment(self, patient, patient_created, start, kind, staff, *, forced=None):
        """One individual appointment with its attendee, and what follows from it.

        ``staff`` is (practitioner, business); ``forced`` a status to plant instead of a random one.
        """
        prac, biz = staff
        rng = self.rng
        r = rng.random
        now = DEFAULT_NOW
        pid = patient["id"]
        duration = kind["duration_in_minutes"] * 60
        end = start + duration
        created = max(start - int(r() * 21 * DAY), patient_created + 60)
        created = max(
            min(created, now - 3600 - int(rng.random() * (10 * DAY)), start), patient_created
        )
        u = r()
        if forced:
            status = forced
        elif end >= now:
            status = "cancelled" if u < 0.05 else "future"
        else:
            status = next(s for share, s in self.PAST_STATUSES if u < share)
        deleted = status == "deleted" or (forced is None and r() < 0.01)
        if status == "deleted":
            status = "unmarked"
        fields = dict(
            starts_at=iso(start),
            ends_at=iso(end),
            patient_id=pid,
            patient_name=full_name(patient),
            practitioner_id=prac["id"],
            business_id=biz["id"],
            appointment_type_id=kind["id"],
            has_patient_appointment_notes=bool(patient["appointment_notes"]),
            notes=None if r() < 0.85 else "Parking validated at reception.",
            booking_ip_address="203.0.113.%d" % int(rng.random() * 256) if r() < 0.3 else None,
            telehealth_url="https://%s.%s.cliniko.com/appointments/{id}/connect"
            % (self.clinic.subdomain, self.clinic.shard),
        )
        if fields["booking_ip_address"]:
            fields["online_booking_policy_accepted"] = True
        updated = created
        if status == "cancelled":
            cancelled = max(
                created + 60, min(start - 3600 - int(rng.random() * (3 * DAY)), now - 60)
            )
            reason = (10, 20, 30, 31, 40, 50, 60)[int(rng.random() * 7)]
            fields.update(
                cancelled_at=iso(cancelled),
                cancellation_reason=reason,
                cancellation_reason_description=CANCELLATION_REASONS[reason],
                cancellation_note=None
                if r() < 0.5
                else rng.choice(["Rang at 8am", "Sick kid", "Will rebook", "Texted cancel"]),
            )
            updated = cancelled
        elif status in ("arrived", "arrived_long"):
            fields["patient_arrived"] = True
            updated = end
        elif status == "dna":
            fields["did_not_arrive"] = True
            updated = end + 1800
        appointment = self.add("individual_appointments", created, "bookings", **fields)
        aid = appointment["id"]
        appointment["telehealth_url"] = appointment["telehealth_url"].replace("{id}", aid)
        attendee = self.add(
            "attendees",
            created,
            "attendees",
            booking_id=aid,
            patient_id=pid,
            arrived=True if fields.get("patient_arrived") else (False if status == "dna" else None),
            booking_ip_address=fields["booking_ip_address"],
            online_booking_policy_accepted=fields.get("online_booking_policy_accepted"),
            cancelled_at=fields.get("cancelled_at"),
            cancellation_reason=fields.get("cancellation_reason"),
            cancellation_reason_description=fields.get("cancellation_reason_description", ""),
            cancellation_note=fields.get("cancellation_note"),
            telehealth_url="https://%s.cliniko.com/c/%s"
            % (self.clinic.subdomain, "%x" % rng.getrandbits(48)),
        )
        # reminders and confirmations
        mobile = next(
            (
                p
                for p in patient["patient_phone_numbers"]
                if p["phone_type"] == "Mobile" and p.get("normalized_number")
            ),
            None,
        )
        email = patient["email"] if is_valid_email(patient["email"]) else None
        if (
            mobile
            and "SMS" in patient["reminder_type"]
            and start - DAY < now
            and r() < 0.7
            and status != "cancelled"
        ):
            sent = start - DAY
            self.communication(
                patient,
                sent,
                1,
                1,
                to=mobile["number"],
                sender=self.sms_sender,
                content="Hi %s, reminder of your appointment with %s at %s. Reply Y to confirm."
                % (
                    patient["first_name"] or patient["last_name"],
                    prac["display_name"],
                    time.strftime("%a %d %b, %I:%M %p", time.gmtime(start + MELBOURNE_OFFSET)),
                ),
                booking=aid,
                attendee=attendee["id"],
            )
            appointment["sms_reminder_sent"] = attendee["sms_reminder_sent"] = True
            attendee["sent_sms_reminders_count"] = 1
            if r() < 0.1:
                self.communication(
                    patient,
                    sent + 600 + int(rng.random() * 3600),
                    8,
                    1,
                    direction=2,
                    to=self.sms_sender,
                    sender=mobile["number"],
                    content=COMMUNICATION_REPLIES[int(rng.random() * (len(COMMUNICATION_REPLIES)))],
                    booking=aid,
                )
        if email and patient["receives_confirmation_emails"] and r() < 0.3:
            self.communication(
                patient,
                created + 60,
                4,
                2,
                to=email.strip(),
                sender="reception@" + self.mail_domain,
                subject="Appointment confirmation",
                content="Your %s on %s is confirmed." % (kind["name"], iso(start)),
                booking=aid,
                attendee=attendee["id"],
            )
            appointment["email_reminder_sent"] = attendee["email_reminder_sent"] = r() < 0.5
        # invoice and note
        invoice_status = note_status = None
        if not deleted and status in ("arrived", "arrived_long") and (forced or r() < 0.85):
            lines = [("item", self.items_by_type[kind["id"]])]
            if r() < 0.15:
                lines.append(("product", self.products[int(rng.random() * (len(self.products)))]))
            inv_t = min(end + 60 + int(rng.random() * 3600), now - 30)
            invoice = self.invoice(
                patient, inv_t, biz, prac, lines, appointment=aid, attendee=attendee["id"]
            )
            invoice_status = invoice["status"]
            updated = max(updated, inv_t)
            if email and r() < 0.3:
                self.communication(
                    patient,
                    inv_t + 120,
                    3,
                    2,
                    to=email.strip(),
                    sender="accounts@" + self.mail_domain,
                    subject="Invoice",  # numbered in finish()
                    content="Please find your invoice attached.",
                    invoice=invoice["id"],
                )
        if not deleted and status in ("arrived", "arrived_long") and (forced or r() < 0.75):
            note_t = min(end + 300 + int(rng.random() * (2 * DAY)), now - 20)
            draft = forced is None and r() < 0.12
            note = self.note(
                patient,
                note_t,
                prac,
                aid,
                draft=draft,
                attendee=attendee["id"],
                long=status == "arrived_long" or r() < 0.001,
                initial=kind is self.initial_type,
            )
            note_status = 10 if draft else 90
            updated = max(updated, note_t)
            if draft:
                self.edge.setdefault("draft_treatment_note", note["id"])
            if status == "arrived_long":
                self.edge["long_treatment_note"] = note["id"]
        if status == "dna" and not deleted and forced is None and r() < 0.3:
            inv_t = min(end + DAY, now - 30)
            invoice = self.invoice(
                patient,
                inv_t,
                biz,
                prac,
                [("item", self.dna_item)],
                appointment=aid,
                attendee=attendee["id"],
            )
            invoice_status = invoice["status"]
            updated = max(updated, inv_t)
        if deleted:
            gone = min(max(updated, created) + 60 + int(rng.random() * DAY), now - 10)
            appointment["deleted_at"] = attendee["deleted_at"] = iso(gone)
            updated = gone
        updated = min(max(updated, created), now - 1)
        appointment["invoice_status"] = attendee["invoice_status"] = invoice_status
        appointment["treatment_note_status"] = attendee["treatment_note_status"] = note_status
        appointment["updated_at"] = attendee["updated_at"] = iso(updated)
        # planted edge cases
        edge = self.edge
        if forced == "dna" or (status == "dna" and "did_not_arrive_appointment" not in edge):
            edge["did_not_arrive_appointment"] = aid
        if forced == "cancelled" or (status == "cancelled" and "cancelled_appointment" not in edge):
            edge["cancelled_appointment"] = aid
        if forced == "future" or (status == "future" and "future_appointment" not in edge):
            edge["future_appointment"] = aid
        if forced == "deleted" or (deleted and "deleted_appointment" not in edge):
            edge["deleted_appointment"] = aid
        if forced == "arrived_long":
            edge["arrived_appointment"] = aid
        return appointment, attendee, status

    def patient_case(self, patient, created, booked):
        rng = self.rng
        t = created + 3600
        doctor = patient["referring_doctor_id"] or self.doctors[0]["id"]
        medicare = rng.random() < 0.7 or not patient["dva_card_number"]
        attendees = [att["id"] for _, att, status in booked[:5] if status != "cancelled"]
        case = self.add(
            "patient_cases",
            t,
            "other",
            name="Medicare CDM (EPC) referral" if medicare else "DVA referral",
            notes="5 sessions per calendar year" if medicare else "D904 — 12 sessions",
            issue_date=iso_date(t),
            expiry_date=iso_date(t + 365 * DAY),
            max_sessions=5 if medicare else 12,
            closed=t + 365 * DAY < DEFAULT_NOW,
            closed_at=iso(t + 365 * DAY) if t + 365 * DAY < DEFAULT_NOW else None,
            include_cancelled_attendees=False,
            include_dna_attendees=True,
            referral=True,
            referral_type="medicare" if medicare else "dva",
            attendee_ids=attendees,
            patient_id=patient["id"],
            contact_id=doctor,
        )
        for appointment, attendee, status in booked[:5]:
            if status != "cancelled":
                appointment["patient_case_id"] = attendee["patient_case_id"] = case["id"]
        self.edge.setdefault("patient_case", case["id"])

    # -- group classes ------------------------------------------------------------------------
    def make_groups(self):
        rng = self.rng
        if not self.eligible:
            return
        kind = self.group_type
        count = max(3, self.size // 25)
        first = self.eligible_times[0] + DAY
        starts = sorted(
            first + int(rng.random() * (max(DEFAULT_NOW + 30 * DAY - first, DAY)))
            for _ in range(count - 1)
        )
        starts.append(DEFAULT_NOW - 20 * DAY)  # one recent past class, with planted cases
        starts.sort()
        planted = starts.index(DEFAULT_NOW - 20 * DAY)
        starts = [
            self.slot(s) if i != planted else DEFAULT_NOW - 20 * DAY + 22 * 3600
            for i, s in enumerate(starts)
        ]
        for i, start in enumerate(starts):
            prac = self.practitioner_at(start, None)
            created = min(start - rng.randrange(1, 30) * DAY, DEFAULT_NOW - DAY)
            known = bisect.bisect_right(self.eligible_times, created)
            if known == 0:
                created = self.eligible_times[0] + 60
                known = 1
            end = start + kind["duration_in_minutes"] * 60
            group = self.add(
                "group_appointments",
                created,
                "bookings",
                starts_at=iso(start),
                ends_at=iso(end),
                max_attendees=kind["max_attendees"],
                appointment_type_id=kind["id"],
                business_id=self.businesses[0]["id"],
                practitioner_id=prac["id"],
                notes=None if rng.random() < 0.7 else "Bring a towel.",
            )
            size = min(known, 1 + int(rng.random() * kind["max_attendees"]))
            if i == planted:
                size = max(size, min(3, known))
            members = [self.eligible[k] for k in rng.sample(range(known), size)]
            deleted = i == planted - 1 if planted > 0 else i == planted + 1
            current = []
            for k, pid in enumerate(members):
                patient = self.res["patients"][pid]
                cancel = (i == planted and k == 0 and size > 1) or rng.random() < 0.05
                attendee = self.add(
                    "attendees",
                    created + k * 60,
                    "attendees",
                    booking_id=group["id"],
                    patient_id=pid,
                    arrived=True if end < DEFAULT_NOW and not cancel else None,
                )
                if cancel:
                    when = min(start - 3600, DEFAULT_NOW - 60)
                    attendee.update(
                        cancelled_at=iso(when),
                        cancellation_reason=40,
                        cancellation_reason_description="Away",
                        cancellation_note="On holiday",
                        arrived=None,
                        updated_at=iso(when),
                    )
                    if i == planted:
                        self.edge["cancelled_attendee"] = attendee["id"]
                    continue
                current.append(pid)
                if end < DEFAULT_NOW and not deleted and rng.random() < 0.6:
                    inv_t = min(end + 600, DEFAULT_NOW - 30)
                    invoice = self.invoice(
                        patient,
                        inv_t,
                        self.businesses[0],
                        prac,
                        [("item", self.items_by_type[kind["id"]])],
                        attendee=attendee["id"],
                    )
                    attendee["invoice_status"] = invoice["status"]
                    attendee["updated_at"] = iso(inv_t)
            group["patient_ids"] = current
            if deleted:
                gone = iso(min(created + DAY, DEFAULT_NOW - 60))
                group["deleted_at"] = group["updated_at"] = gone
                for attendee in self.res["attendees"].values():
                    if attendee["booking_id"] == group["id"]:
                        attendee["deleted_at"] = attendee["updated_at"] = gone
                self.edge["deleted_group_appointment"] = group["id"]
            if i == planted:
                self.edge["group_appointment"] = group["id"]
