"""Appointments migrated end to end: Cliniko sandbox over HTTP -> crm.lead + calendar.event.

Individual appointments and group attendances become leads of kind "appointment" (or, in the
"one lead per patient" mode, notes on the patient's lead); every appointment and every group
session gets a private calendar event; nothing is sent.
"""

import copy
from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, tagged

from ..migration import graph
from ..migration.appointments import INDIVIDUAL_ATTENDEE_REASON, appointment_status
from ..migration.runner import importer_class
from ..migration.values import link_id, parse_datetime
from .common import ClinikoSandboxCase, outside_runs

APPOINTMENT_RESOURCES = "individual_appointments,group_appointments,attendees"
TOUCHED_MODELS = (
    "crm.lead",
    "calendar.event",
    "calendar.attendee",
    "mail.message",
    "mail.activity",
    "cliniko.external.ref",
)
SENT_MODELS = ("mail.mail", "mail.notification", "mail.activity", "mail.followers", "bus.bus")
STAMP = "%Y-%m-%dT%H:%M:%SZ"


def expected_status(record, ends_at, now, attendance=False):
    """The status rule, as the importer's docstring states it."""
    if record.get("cancelled_at"):
        return "cancelled"
    if (record.get("arrived") is False) if attendance else record.get("did_not_arrive"):
        return "did_not_arrive"
    if ends_at <= now:
        return "completed"
    arrived = record.get("arrived") if attendance else record.get("patient_arrived")
    return "arrived" if arrived else "booked"


def importer_exists(resource):
    return importer_class(graph.get(resource)) is not None


class AppointmentCase(ClinikoSandboxCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.clinic = cls.sandbox.clinic
        cls.edge = cls.clinic.edge_cases

    # -- helpers -----------------------------------------------------------------------------
    def migrate_appointments(self, **values):
        """Migrate the appointment resources (and what they depend on) to the end; undecided
        practitioners are left unassigned."""
        values.setdefault("resources", APPOINTMENT_RESOURCES)
        values.setdefault("unmatched_practitioners", "unassigned")
        run = self.migrate(**values)
        for _attempt in range(3):
            if run.state != "blocked":
                break
            run.practitioner_decision_ids.filtered(lambda d: not d.decision).write(
                {"decision": "unassigned"}
            )
            run.action_start()
        self.assertEqual(run.state, "done", run.error_message)
        self.assertCountersAddUp(run)
        return run

    @classmethod
    def migrate_appointments_once(cls, **values):
        """``migrate_appointments`` for ``setUpClass``: the class's tests read its result."""
        values.setdefault("resources", APPOINTMENT_RESOURCES)
        run = cls.start_run(**values)
        assert run.state == "done", run.error_message
        for line in run.resource_ids:
            outcomes = ("created", "updated", "unchanged", "skipped", "failed")
            assert line.fetched == sum(line[name] for name in outcomes), (
                "counters of %s do not add up" % line.resource
            )
        return run

    def keep(self, resource, record_id):
        """Put a sandbox record back as it is now after this test (the sandbox is shared by
        the class)."""
        store = self.clinic.resources[resource]
        originals = {(resource, record_id): copy.deepcopy(store[record_id])}
        if resource == "individual_appointments":
            # cancelling an appointment cancels its attendee too
            for attendee_id, attendee in self.clinic.resources["attendees"].items():
                if attendee["booking_id"] == record_id:
                    originals["attendees", attendee_id] = copy.deepcopy(attendee)

        def restore():
            for (name, rid), original in originals.items():
                self.clinic.resources[name][rid] = original
            self.clinic.touch()

        self.addCleanup(restore)

    def patch(self, resource, record_id, **changes):
        """Change a sandbox record for this test only (the sandbox is shared by the class)."""
        self.keep(resource, record_id)
        self.clinic.tick(60)
        return self.clinic.update(resource, record_id, **changes)

    def api(self, resource, record_id):
        return self.clinic.get(resource, record_id)

    @classmethod
    def listed(cls, resource, deleted_too=False):
        return {
            rid: record
            for rid, record in cls.clinic.resources[resource].items()
            if deleted_too or not record.get("deleted_at")
        }

    def migrated_patient_ids(self):
        return set(self.migrated_partners().mapped("cliniko_patient_id"))

    @classmethod
    def group_ids(cls):
        return set(cls.clinic.resources["group_appointments"])

    @classmethod
    def group_attendees(cls):
        return {
            rid: record
            for rid, record in cls.listed("attendees").items()
            if record["booking_id"] in cls.group_ids()
        }

    def appointment_leads(self, **domain):
        return (
            self.env["crm.lead"]
            .with_context(active_test=False)
            .search(
                [("cliniko_lead_kind", "=", "appointment")]
                + [(key, "=", value) for key, value in domain.items()]
            )
        )

    def lead_of(self, appointment_id):
        return self.appointment_leads(cliniko_appointment_id=appointment_id, cliniko_is_group=False)

    def lead_of_attendee(self, attendee_id):
        return self.appointment_leads(cliniko_attendee_id=attendee_id)

    @classmethod
    def bound(cls, resource, cliniko_id):
        ref = cls.env["cliniko.external.ref"].search(
            [
                ("connection_id", "=", cls.connection.id),
                ("resource", "=", resource),
                ("cliniko_id", "=", str(cliniko_id)),
            ]
        )
        return cls.env[ref.res_model].browse(ref.res_id).exists() if ref else None

    def audit_of(self, run, resource, cliniko_id):
        return run.audit_ids.filtered(
            lambda a: a.resource == resource and a.cliniko_id == cliniko_id and not a.is_rollback
        )

    @classmethod
    def row_counts(cls):
        return {
            model: cls.env[model]
            .sudo()
            .with_context(active_test=False)
            .search_count(outside_runs(model))
            for model in TOUCHED_MODELS
        }

    @classmethod
    def sent_counts(cls):
        return {
            model: cls.env[model].sudo().search_count(outside_runs(model)) for model in SENT_MODELS
        }

    @classmethod
    def plain_appointments(cls):
        """Ids of unmarked, not cancelled, not deleted appointments of ordinary patients."""
        patients = cls.clinic.resources["patients"]
        return sorted(
            aid
            for aid, a in cls.listed("individual_appointments").items()
            if not (a["cancelled_at"] or a["did_not_arrive"] or a["patient_arrived"])
            and a["patient_id"] in patients
            and not (
                patients[a["patient_id"]]["merged_at"] or patients[a["patient_id"]]["deleted_at"]
            )
        )

    def start_of(self, run):
        return run.started_at


class TestAppointments(AppointmentCase):
    """Patients, then the appointment resources, migrated once for the class: most tests read
    that result; tests about what a later run changes run the appointments again in their
    body (each test runs in a savepoint, and ``patch`` puts the sandbox back)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.patients_run = cls.start_run(resources="patients")
        cls.sent_before = cls.sent_counts()
        cls.messages_before = cls.env["mail.message"].sudo().search_count(
            outside_runs("mail.message")
        )
        cls.counts_before = cls.row_counts()
        cls.appointments_run = cls.migrate_appointments_once()

    def test_counters_match_what_cliniko_lists(self):
        run = self.appointments_run
        appointments = self.listed("individual_appointments", deleted_too=True)
        migrated = self.migrated_patient_ids()
        deleted = [a for a in appointments.values() if a["deleted_at"]]
        orphans = [
            a
            for a in appointments.values()
            if not a["deleted_at"] and a["patient_id"] not in migrated
        ]
        counts = run.summary()["resources"]["individual_appointments"]
        self.assertEqual(counts["fetched"], len(appointments))
        self.assertEqual(counts["skipped"], len(deleted))
        self.assertEqual(counts["failed"], len(orphans))
        self.assertEqual(counts["created"], len(appointments) - len(deleted) - len(orphans))
        self.assertEqual(len(self.appointment_leads(cliniko_is_group=False)), counts["created"])

    def test_each_appointment_lands_in_the_stage_of_its_status(self):
        run = self.appointments_run
        now = self.start_of(run)
        migrated = self.migrated_patient_ids()
        expected = {}
        for appointment in self.listed("individual_appointments").values():
            if appointment["patient_id"] in migrated:
                status = expected_status(appointment, parse_datetime(appointment["ends_at"]), now)
                expected[status] = expected.get(status, 0) + 1
        leads = self.appointment_leads(cliniko_is_group=False)
        found = {}
        for lead in leads:
            found[lead.cliniko_appointment_status] = (
                found.get(lead.cliniko_appointment_status, 0) + 1
            )
            self.assertEqual(lead.stage_id.cliniko_status, lead.cliniko_appointment_status)
        self.assertEqual(found, expected)
        for status in ("completed", "cancelled", "did_not_arrive"):
            self.assertTrue(found.get(status), "the sandbox should hold a %s appointment" % status)

    def test_fields_are_copied_field_by_field(self):
        run = self.appointments_run
        now = self.start_of(run)
        migrated = self.migrated_patient_ids()
        with_user = with_type = with_location = 0
        for aid, stored in self.listed("individual_appointments").items():
            if stored["patient_id"] not in migrated:
                continue
            source = self.api("individual_appointments", aid)
            lead = self.lead_of(aid)
            with self.subTest(appointment=aid):
                self.assertEqual(len(lead), 1)
                self.assertEqual(lead.cliniko_starts_at.strftime(STAMP), source["starts_at"])
                self.assertEqual(lead.cliniko_ends_at.strftime(STAMP), source["ends_at"])
                minutes = (
                    parse_datetime(source["ends_at"]) - parse_datetime(source["starts_at"])
                ).total_seconds() // 60
                self.assertEqual(lead.cliniko_duration_minutes, minutes)
                patient_id = link_id(source["patient"])
                self.assertEqual(lead.partner_id.cliniko_patient_id, patient_id)
                self.assertEqual(lead.cliniko_patient_lead_id.cliniko_lead_kind, "patient")
                self.assertEqual(lead.cliniko_patient_lead_id.partner_id, lead.partner_id)
                self.assertEqual(lead.cliniko_patient_id, patient_id)
                user = self.bound("practitioners", link_id(source["practitioner"]))
                expected_user = user if user and user._name == "res.users" else None
                self.assertEqual(lead.user_id, expected_user or self.env["res.users"])
                with_user += bool(lead.user_id)
                kind = self.bound("appointment_types", link_id(source["appointment_type"]))
                self.assertEqual(
                    lead.cliniko_appointment_type_id, kind or self.env["cliniko.appointment.type"]
                )
                with_type += bool(kind)
                location = self.bound("businesses", link_id(source["business"]))
                self.assertEqual(lead.cliniko_location_id, location or self.env["cliniko.location"])
                with_location += bool(location)
                held = lead.cliniko_appointment_status not in ("cancelled", "did_not_arrive")
                self.assertEqual(lead.expected_revenue, kind.price if kind and held else 0.0)
                self.assertEqual(
                    lead.cliniko_appointment_status,
                    expected_status(source, parse_datetime(source["ends_at"]), now),
                )
                self.assertEqual(lead.active, not source["archived_at"])
                self.assertEqual(lead.team_id, self.connection.team_id)
                self.assertEqual(lead.type, "opportunity")
                self.assertIn(lead.partner_id.name, lead.name)
                self.assertEqual(lead.cliniko_created_at.strftime(STAMP), source["created_at"])
                self.assertTrue(lead.iap_enrich_done)
                if source["cancelled_at"]:
                    self.assertEqual(
                        lead.cliniko_cancelled_at.strftime(STAMP), source["cancelled_at"]
                    )
                    self.assertEqual(
                        lead.cliniko_cancellation_reason, str(source["cancellation_reason"])
                    )
                    self.assertEqual(
                        lead.cliniko_cancellation_description,
                        source["cancellation_reason_description"],
                    )
                    self.assertEqual(
                        lead.cliniko_cancellation_note or None, source["cancellation_note"]
                    )
                else:
                    self.assertFalse(lead.cliniko_cancelled_at)
                    self.assertFalse(lead.cliniko_cancellation_reason)
                if source["notes"]:
                    self.assertIn(source["notes"], lead.description)
        # Once the other importers exist, the links must be there (not all left empty).
        if importer_exists("practitioners"):
            bound_users = self.env["cliniko.external.ref"].search(
                [("resource", "=", "practitioners"), ("res_model", "=", "res.users")]
            )
            if bound_users:
                self.assertTrue(with_user, "practitioners are bound but no lead has a user")
        if importer_exists("appointment_types"):
            self.assertTrue(with_type, "appointment types are migrated but no lead has one")
        if importer_exists("businesses"):
            self.assertTrue(with_location, "locations are migrated but no lead has one")

    def test_patient_lead_lists_its_appointments(self):
        leads = self.appointment_leads()
        self.assertTrue(leads)
        for patient_lead in leads.cliniko_patient_lead_id:
            mine = leads.filtered(lambda lead, p=patient_lead: lead.cliniko_patient_lead_id == p)
            self.assertEqual(
                patient_lead.with_context(active_test=False).cliniko_appointment_ids, mine
            )
            self.assertEqual(patient_lead.cliniko_appointment_count, len(mine))

    def test_orphan_appointment_fails_with_its_reason(self):
        orphan = self.edge["orphan_appointment"]
        run = self.appointments_run
        self.assertFalse(self.lead_of(orphan))
        line = self.audit_of(run, "individual_appointments", orphan)
        self.assertEqual(line.action, "fail")
        self.assertIn("patient %s was not migrated" % self.edge["orphan_patient_id"], line.message)
        self.assertFalse(self.bound("individual_appointments", orphan))

    def test_deleted_appointment_is_counted_and_skipped(self):
        deleted = self.edge["deleted_appointment"]
        run = self.appointments_run
        self.assertFalse(self.lead_of(deleted))
        line = self.audit_of(run, "individual_appointments", deleted)
        self.assertEqual(line.action, "skip")
        self.assertIn("deleted", line.message)

    def test_cancelled_appointment_is_kept_in_the_cancelled_stage(self):
        cancelled = self.edge["cancelled_appointment"]
        source = self.api("individual_appointments", cancelled)
        lead = self.lead_of(cancelled)
        self.assertEqual(lead.stage_id, self.env.ref("cliniko_crm_migration.stage_cancelled"))
        self.assertTrue(lead.active)
        self.assertEqual(lead.cliniko_cancellation_reason, str(source["cancellation_reason"]))
        self.assertEqual(lead.cliniko_cancelled_at.strftime(STAMP), source["cancelled_at"])

    def test_did_not_arrive_and_completed_appointments(self):
        dna = self.lead_of(self.edge["did_not_arrive_appointment"])
        self.assertEqual(dna.stage_id, self.env.ref("cliniko_crm_migration.stage_did_not_arrive"))
        done = self.lead_of(self.edge["arrived_appointment"])
        self.assertEqual(done.stage_id, self.env.ref("cliniko_crm_migration.stage_completed"))
        self.assertEqual(done.probability, 100)
        self.assertEqual(done.date_closed, done.cliniko_ends_at)

    def test_each_appointment_gets_a_private_event_with_practitioner_and_patient(self):
        leads = self.appointment_leads(cliniko_is_group=False)
        self.assertTrue(leads)
        for lead in leads:
            event = lead.cliniko_calendar_event_id
            with self.subTest(appointment=lead.cliniko_appointment_id):
                self.assertTrue(event)
                self.assertEqual(event.opportunity_id, lead)
                self.assertEqual(lead.calendar_event_ids.with_context(active_test=False), event)
                self.assertEqual(event.start, lead.cliniko_starts_at)
                self.assertEqual(event.stop, lead.cliniko_ends_at)
                self.assertEqual(event.privacy, "private")
                self.assertFalse(event.alarm_ids)
                self.assertEqual((event.res_model, event.res_id), ("crm.lead", lead.id))
                self.assertFalse(event.activity_ids)
                self.assertEqual(event.partner_ids, lead.partner_id | lead.user_id.partner_id)
                self.assertEqual(event.attendee_ids.partner_id, event.partner_ids)
                self.assertEqual(event.user_id, lead.user_id)
                self.assertIn(lead.partner_id.name, event.name)
                self.assertEqual(
                    event.active, lead.active and lead.cliniko_appointment_status != "cancelled"
                )

    def test_group_appointment_becomes_one_event_with_every_attendee(self):
        group_id = self.edge["group_appointment"]
        source = self.api("group_appointments", group_id)
        run = self.appointments_run
        counts = run.summary()["resources"]["group_appointments"]
        self.assertEqual(counts["fetched"], len(self.listed("group_appointments")))
        self.assertEqual(counts["created"], counts["fetched"])
        event = self.bound("group_appointments", group_id)
        self.assertEqual(event._name, "calendar.event")
        self.assertEqual(event.start.strftime(STAMP), source["starts_at"])
        self.assertEqual(event.stop.strftime(STAMP), source["ends_at"])
        self.assertEqual(event.privacy, "private")
        self.assertFalse(event.alarm_ids)
        self.assertFalse(event.opportunity_id)
        patients = set(event.partner_ids.mapped("cliniko_patient_id")) - {False}
        self.assertEqual(patients, set(source["patient_ids"]) & self.migrated_patient_ids())
        self.assertTrue(patients)
        self.assertFalse(self.bound("group_appointments", self.edge["deleted_group_appointment"]))

    def test_migration_sends_nothing_and_posts_nothing(self):
        # counted in setUpClass between the patients run and the appointments run
        before_sent, before_messages = self.sent_before, self.messages_before
        leads = self.appointment_leads()
        self.assertTrue(leads)
        self.assertEqual(self.sent_counts(), before_sent)
        self.assertEqual(
            self.env["mail.message"].sudo().search_count(outside_runs("mail.message")),
            before_messages,
        )
        self.assertFalse(leads.message_ids)
        self.assertFalse(leads.cliniko_patient_lead_id.message_ids)
        self.assertFalse(leads.cliniko_calendar_event_id.message_ids)
        self.assertFalse(leads.activity_ids)

    def test_attendee_counters_add_up(self):
        run = self.appointments_run
        listed = self.listed("attendees")
        group = self.group_attendees()
        migrated = self.migrated_patient_ids()
        counts = run.summary()["resources"]["attendees"]
        self.assertEqual(counts["fetched"], len(listed))
        orphans = [a for a in group.values() if a["patient_id"] not in migrated]
        self.assertEqual(counts["skipped"], len(listed) - len(group))
        self.assertEqual(counts["failed"], len(orphans))
        self.assertEqual(counts["created"], len(group) - len(orphans))

    def test_attendees_of_individual_appointments_are_skipped_with_the_reason(self):
        run = self.appointments_run
        individual = [
            rid
            for rid, a in self.listed("attendees").items()
            if a["booking_id"] not in self.group_ids()
        ]
        self.assertTrue(individual)
        for attendee_id in individual:
            line = self.audit_of(run, "attendees", attendee_id)
            self.assertEqual(line.action, "skip")
            self.assertEqual(line.message, INDIVIDUAL_ATTENDEE_REASON)

    def test_group_attendance_becomes_a_lead_with_the_schedule_of_its_group(self):
        run = self.appointments_run
        now = self.start_of(run)
        group_attendees = self.group_attendees()
        self.assertTrue(group_attendees)
        for attendee_id, stored in group_attendees.items():
            attendee = self.api("attendees", attendee_id)
            group = self.api("group_appointments", stored["booking_id"])
            lead = self.lead_of_attendee(attendee_id)
            with self.subTest(attendee=attendee_id):
                self.assertEqual(len(lead), 1)
                self.assertTrue(lead.cliniko_is_group)
                self.assertEqual(lead.cliniko_appointment_id, group["id"])
                self.assertEqual(lead.partner_id.cliniko_patient_id, link_id(attendee["patient"]))
                self.assertEqual(lead.cliniko_patient_lead_id.partner_id, lead.partner_id)
                self.assertEqual(lead.cliniko_starts_at.strftime(STAMP), group["starts_at"])
                self.assertEqual(lead.cliniko_ends_at.strftime(STAMP), group["ends_at"])
                self.assertEqual(lead.cliniko_practitioner_id, link_id(group["practitioner"]))
                kind = self.bound("appointment_types", link_id(group["appointment_type"]))
                self.assertEqual(
                    lead.cliniko_appointment_type_id, kind or self.env["cliniko.appointment.type"]
                )
                status = expected_status(attendee, parse_datetime(group["ends_at"]), now, True)
                self.assertEqual(lead.cliniko_appointment_status, status)
                self.assertEqual(lead.stage_id.cliniko_status, status)
                self.assertEqual(
                    lead.cliniko_calendar_event_id, self.bound("group_appointments", group["id"])
                )

    def test_cancelled_attendee_is_kept_in_the_cancelled_stage(self):
        attendee_id = self.edge["cancelled_attendee"]
        source = self.api("attendees", attendee_id)
        lead = self.lead_of_attendee(attendee_id)
        self.assertEqual(lead.stage_id, self.env.ref("cliniko_crm_migration.stage_cancelled"))
        self.assertEqual(lead.cliniko_cancellation_reason, str(source["cancellation_reason"]))
        self.assertEqual(lead.cliniko_cancellation_note, source["cancellation_note"])
        # a cancelled attendee is no longer invited to the session
        event = lead.cliniko_calendar_event_id
        self.assertTrue(event)
        self.assertNotIn(lead.partner_id, event.partner_ids)

    def test_status_rule(self):
        now = fields.Datetime.now()
        past, future = now - timedelta(days=1), now + timedelta(days=1)
        cases = [
            ({"cancelled_at": "x", "patient_arrived": True}, past, "cancelled"),
            ({"did_not_arrive": True}, past, "did_not_arrive"),
            ({"did_not_arrive": True}, future, "did_not_arrive"),
            ({"patient_arrived": True}, past, "completed"),
            ({}, past, "completed"),
            ({"patient_arrived": True}, future, "arrived"),
            ({}, future, "booked"),
        ]
        for record, ends, status in cases:
            self.assertEqual(appointment_status(record, ends, now), status, record)
        self.assertEqual(appointment_status({"arrived": False}, past, now, True), "did_not_arrive")
        self.assertEqual(appointment_status({"arrived": None}, past, now, True), "completed")
        self.assertEqual(appointment_status({"arrived": True}, future, now, True), "arrived")

    def test_running_again_creates_nothing(self):
        first = self.appointments_run
        counts = self.row_counts()
        second = self.migrate_appointments()
        self.assertEqual(self.row_counts(), counts)
        for resource in ("individual_appointments", "group_appointments", "attendees"):
            before = first.summary()["resources"][resource]
            after = second.summary()["resources"][resource]
            with self.subTest(resource=resource):
                self.assertEqual(after["created"], 0)
                self.assertEqual(after["updated"], 0)
                self.assertEqual(after["fetched"], before["fetched"])
                self.assertEqual(after["failed"], before["failed"])

    def test_a_change_that_keeps_the_status_keeps_the_stage_chosen_in_odoo(self):
        aid = self.edge["arrived_appointment"]
        lead = self.lead_of(aid)
        chosen = self.env.ref("cliniko_crm_migration.stage_arrived")
        lead.stage_id = chosen
        self.patch("individual_appointments", aid, notes="Bring previous scans.")
        self.migrate_appointments()
        self.assertIn("Bring previous scans.", lead.description)
        self.assertEqual(lead.stage_id, chosen)

    def test_a_rescheduled_group_appointment_moves_its_event_and_attendances(self):
        group_id = self.edge["group_appointment"]
        event = self.bound("group_appointments", group_id)
        leads = self.appointment_leads(cliniko_appointment_id=group_id, cliniko_is_group=True)
        self.assertTrue(leads)
        start = parse_datetime(self.api("group_appointments", group_id)["starts_at"])
        new_start, new_end = start + timedelta(days=1), start + timedelta(days=1, hours=1)
        self.patch(
            "group_appointments",
            group_id,
            starts_at=new_start.strftime(STAMP),
            ends_at=new_end.strftime(STAMP),
        )
        self.migrate_appointments()
        self.assertEqual(event.start, new_start)
        self.assertEqual(event.stop, new_end)
        self.assertEqual(set(leads.mapped("cliniko_starts_at")), {new_start})
        self.assertEqual(set(leads.mapped("cliniko_duration_minutes")), {60})

    def test_rollback_returns_every_table_to_its_previous_row_count(self):
        # counted in setUpClass between the patients run and the appointments run
        before, run = self.counts_before, self.appointments_run
        after = self.row_counts()
        for model in ("crm.lead", "calendar.event", "calendar.attendee", "cliniko.external.ref"):
            self.assertGreater(after[model], before[model], model)
        run.action_rollback()
        self.assertEqual(run.state, "rolled_back")
        # the patients migrated by the first run stay; everything of the second goes
        self.assertEqual(self.row_counts(), before)


class TestAppointmentsChangedBeforeTheRun(AppointmentCase):
    """Edge cases planted in the clinic (and in Odoo) before one appointments run, each on
    records of its own: an archived appointment, a booked and an arrived one in the future, a
    booked one whose type has a stage, a practitioner who is an Odoo user, an unknown
    practitioner, a group attendee of a patient never migrated."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        clinic, now = cls.clinic, fields.Datetime.now()
        appointments = clinic.resources["individual_appointments"]
        # a booked appointment whose type sends booked visits to a stage of its own
        cls.typed_id = cls.edge["arrived_appointment"]
        type_id = appointments[cls.typed_id]["appointment_type_id"]
        cls.start_run(resources="appointment_types")
        cls.kind = cls.bound("appointment_types", type_id)
        assert cls.kind, "the appointment type importer should bind type %s" % type_id
        cls.special = cls.env["crm.stage"].create({"name": "First visits", "sequence": 2})
        cls.kind.stage_id = cls.special
        clinic.tick(60)
        clinic.update(
            "individual_appointments",
            cls.typed_id,
            patient_arrived=False,
            starts_at=(now + timedelta(days=2)).strftime(STAMP),
            ends_at=(now + timedelta(days=2, hours=1)).strftime(STAMP),
        )
        # a booked and an arrived appointment in the future, of another type
        other_type = [
            aid
            for aid in cls.plain_appointments()
            if aid != cls.typed_id and appointments[aid]["appointment_type_id"] != type_id
        ]
        cls.booked_id, cls.arrived_id, cls.archived_id = other_type[:3]
        clinic.update(
            "individual_appointments",
            cls.booked_id,
            starts_at=(now + timedelta(days=3)).strftime(STAMP),
            ends_at=(now + timedelta(days=3, minutes=30)).strftime(STAMP),
        )
        clinic.update(
            "individual_appointments",
            cls.arrived_id,
            patient_arrived=True,
            starts_at=(now - timedelta(minutes=10)).strftime(STAMP),
            ends_at=(now + timedelta(minutes=50)).strftime(STAMP),
        )
        clinic.update("individual_appointments", cls.archived_id, archived_at=clinic.now_iso())
        # an appointment whose practitioner's Cliniko user has a plain e-mail address, and an
        # Odoo user of that address
        practitioners, users = clinic.resources["practitioners"], clinic.resources["users"]

        def email_of(aid):
            practitioner = practitioners[appointments[aid]["practitioner_id"]]
            return users[practitioner["user_id"]]["email"]

        cls.user_aid = next(
            aid
            for aid in cls.plain_appointments()
            if aid != cls.typed_id and (email_of(aid) or "").islower()
        )
        cls.user_practitioner_id = appointments[cls.user_aid]["practitioner_id"]
        cls.practitioner_user = cls.env["res.users"].create(
            {
                "name": "Practitioner in Odoo",
                "login": email_of(cls.user_aid),
                "email": email_of(cls.user_aid),
                "group_ids": [(4, cls.env.ref("sales_team.group_sale_salesman").id)],
            }
        )
        # an appointment of a practitioner Cliniko no longer knows
        cls.unknown_aid = next(
            aid
            for aid in cls.plain_appointments()
            if aid not in (cls.typed_id, cls.booked_id, cls.arrived_id, cls.archived_id)
            and aid != cls.user_aid
            and appointments[aid]["practitioner_id"] != cls.user_practitioner_id
        )
        clinic.update("individual_appointments", cls.unknown_aid, practitioner_id="999999999")
        # a group attendee of a patient that was never migrated
        cls.ghost_attendee_id = next(iter(sorted(cls.group_attendees())))
        clinic.update("attendees", cls.ghost_attendee_id, patient_id="424242")
        cls.edge_run = cls.migrate_appointments_once()

    def test_archived_appointment_arrives_archived(self):
        aid = self.archived_id
        lead = self.lead_of(aid)
        self.assertTrue(lead)
        self.assertFalse(lead.active)
        self.assertFalse(lead.cliniko_calendar_event_id.active)

    def test_booked_and_arrived_appointments_in_the_future(self):
        booked, arrived = self.booked_id, self.arrived_id
        self.assertEqual(self.lead_of(booked).stage_id.cliniko_status, "booked")
        self.assertEqual(self.lead_of(arrived).stage_id.cliniko_status, "arrived")
        self.assertFalse(self.lead_of(booked).date_closed)

    def test_booked_appointment_goes_to_the_stage_of_its_type(self):
        aid, kind, special = self.typed_id, self.kind, self.special
        lead = self.lead_of(aid)
        self.assertEqual(lead.cliniko_appointment_status, "booked")
        self.assertEqual(lead.stage_id, special)
        # Only booked appointments follow the type's stage.
        other = self.appointment_leads(cliniko_appointment_type_id=kind.id).filtered(
            lambda lead: lead.cliniko_appointment_status != "booked"
        )
        self.assertTrue(other)
        self.assertNotIn(special, other.stage_id)

    def test_practitioner_bound_to_a_user_becomes_the_salesperson(self):
        aid, practitioner_id = self.user_aid, self.user_practitioner_id
        user = self.practitioner_user
        self.assertEqual(self.bound("practitioners", practitioner_id), user)
        lead = self.lead_of(aid)
        self.assertEqual(lead.user_id, user)
        self.assertIn(user.partner_id, lead.cliniko_calendar_event_id.partner_ids)
        self.assertEqual(lead.cliniko_calendar_event_id.user_id, user)
        others = self.appointment_leads().filtered(
            lambda lead: lead.cliniko_practitioner_id == practitioner_id
        )
        self.assertEqual(others.user_id, user)

    def test_unknown_practitioner_is_left_unassigned_and_noted(self):
        aid, run = self.unknown_aid, self.edge_run
        lead = self.lead_of(aid)
        self.assertFalse(lead.user_id)
        self.assertEqual(lead.cliniko_practitioner_id, "999999999")
        line = self.audit_of(run, "individual_appointments", aid).filtered(
            lambda a: a.res_model == "crm.lead"
        )
        self.assertIn("practitioner 999999999 has no Odoo user", line.message)

    def test_attendee_of_a_patient_not_migrated_fails_with_its_reason(self):
        attendee_id, run = self.ghost_attendee_id, self.edge_run
        line = self.audit_of(run, "attendees", attendee_id)
        self.assertEqual(line.action, "fail")
        self.assertIn("patient 424242 was not migrated", line.message)


class TestBookedAppointmentUpdates(AppointmentCase):
    """A visit booked in the future, migrated once for the class; each test changes it in
    Cliniko and runs the appointments again."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        now = fields.Datetime.now()
        cls.aid = cls.edge["arrived_appointment"]
        cls.clinic.tick(60)
        cls.clinic.update(
            "individual_appointments",
            cls.aid,
            patient_arrived=False,
            starts_at=(now + timedelta(days=5)).strftime(STAMP),
            ends_at=(now + timedelta(days=5, hours=1)).strftime(STAMP),
        )
        cls.booked_run = cls.migrate_appointments_once()

    def setUp(self):
        super().setUp()
        self.keep("individual_appointments", self.aid)

    def test_cancelled_later_in_cliniko_moves_the_stage_but_keeps_the_salesperson(self):
        aid = self.aid
        lead = self.lead_of(aid)
        self.assertEqual(lead.stage_id.cliniko_status, "booked")
        salesperson = self.env["res.users"].create({"name": "Front desk", "login": "front-desk"})
        # staff reassign it (silently: the test looks for messages the update would post)
        lead.with_context(tracking_disable=True).user_id = salesperson
        self.env.flush_all()
        messages = lead.message_ids
        self.clinic.tick(60)
        self.clinic.cancel("individual_appointments", aid, reason=40, note="Away for work")
        run = self.migrate_appointments()
        self.assertEqual(run.summary()["resources"]["individual_appointments"]["updated"], 1)
        self.assertEqual(lead.stage_id, self.env.ref("cliniko_crm_migration.stage_cancelled"))
        self.assertEqual(lead.cliniko_cancellation_reason, "40")
        self.assertEqual(lead.cliniko_cancellation_note, "Away for work")
        self.assertEqual(lead.user_id, salesperson)
        self.assertFalse(lead.cliniko_calendar_event_id.active)
        self.assertEqual(lead.message_ids, messages, "the update posts nothing")

    def test_time_moves_a_booked_appointment_to_completed_on_the_next_run(self):
        now = fields.Datetime.now()
        aid = self.aid
        lead = self.lead_of(aid)
        self.assertEqual(lead.cliniko_appointment_status, "booked")
        # Two days later: Cliniko's record is the same (same updated_at), the visit is over.
        record = self.clinic.resources["individual_appointments"][aid]
        record["starts_at"] = (now - timedelta(hours=2)).strftime(STAMP)
        record["ends_at"] = (now - timedelta(hours=1)).strftime(STAMP)
        self.clinic.touch()
        ref = self.env["cliniko.external.ref"].search(
            [("resource", "=", "individual_appointments"), ("cliniko_id", "=", aid)]
        )
        ref.synced_at = now - timedelta(days=2)
        run = self.migrate_appointments()
        self.assertEqual(run.summary()["resources"]["individual_appointments"]["updated"], 1)
        self.assertEqual(lead.cliniko_appointment_status, "completed")
        self.assertEqual(lead.stage_id, self.env.ref("cliniko_crm_migration.stage_completed"))
        self.assertEqual(lead.date_closed, lead.cliniko_ends_at)

    def test_rollback_of_an_update_restores_the_stage(self):
        aid = self.aid
        lead = self.lead_of(aid)
        booked = lead.stage_id
        self.clinic.tick(60)
        self.clinic.cancel("individual_appointments", aid, reason=10)
        update = self.migrate_appointments()
        self.assertEqual(lead.cliniko_appointment_status, "cancelled")
        counts = self.row_counts()
        update.action_rollback()
        self.assertEqual(lead.stage_id, booked)
        self.assertEqual(lead.cliniko_appointment_status, "booked")
        self.assertFalse(lead.cliniko_cancelled_at)
        self.assertTrue(lead.cliniko_calendar_event_id.active)
        self.assertEqual(self.row_counts(), counts)


class TestOneLeadPerPatient(AppointmentCase):
    """Patients, then the appointments in "one lead per patient" mode, migrated once."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.patients_run = cls.start_run(resources="patients")
        cls.sent_before = cls.sent_counts()
        cls.counts_before = cls.row_counts()
        cls.per_patient_run = cls.migrate_appointments_once(appointment_mode="lead_per_patient")

    def test_no_appointment_lead_and_one_note_per_appointment_on_the_patient_lead(self):
        run = self.per_patient_run
        self.assertFalse(self.appointment_leads())
        migrated = self.migrated_patient_ids()
        appointments = {
            aid: a
            for aid, a in self.listed("individual_appointments").items()
            if a["patient_id"] in migrated
        }
        attendances = {
            aid: a for aid, a in self.group_attendees().items() if a["patient_id"] in migrated
        }
        notes = self.env["mail.message"].search(
            [("message_id", "like", "<cliniko.%s.%%" % self.connection.id)]
        )
        self.assertEqual(len(notes), len(appointments) + len(attendances))
        self.assertEqual(set(notes.mapped("model")), {"crm.lead"})
        leads = self.env["crm.lead"].browse(notes.mapped("res_id"))
        self.assertEqual(set(leads.mapped("cliniko_lead_kind")), {"patient"})
        self.assertEqual(notes.subtype_id, self.env.ref("mail.mt_note"))
        self.assertTrue(all(notes.mapped("is_internal")))
        for aid, appointment in appointments.items():
            event = self.bound("individual_appointments", aid)
            with self.subTest(appointment=aid):
                self.assertEqual(event._name, "calendar.event")
                self.assertEqual(event.opportunity_id.cliniko_lead_kind, "patient")
                self.assertEqual(
                    event.opportunity_id.partner_id.cliniko_patient_id, appointment["patient_id"]
                )
                self.assertEqual(event.start.strftime(STAMP), appointment["starts_at"])
                note = notes.filtered(lambda n, aid=aid: aid in n.message_id)
                self.assertEqual(note.res_id, event.opportunity_id.id)
                self.assertEqual(note.date.strftime(STAMP), appointment["starts_at"])
        # oldest first: on each patient lead, ids follow the appointment dates
        for lead in leads:
            mine = notes.filtered(
                lambda n, lead=lead: (
                    n.res_id == lead.id and ".individual_appointments." in n.message_id
                )
            ).sorted("id")
            self.assertEqual(mine.mapped("date"), sorted(mine.mapped("date")))
        self.assertEqual(run.summary()["resources"]["attendees"]["created"], len(attendances))

    def test_per_patient_mode_sends_nothing(self):
        # counted in setUpClass between the patients run and the appointments run
        before = self.sent_before
        self.assertEqual(self.sent_counts(), before)

    def test_per_patient_mode_rolls_back_to_the_previous_row_counts(self):
        # counted in setUpClass between the patients run and the appointments run: the notes
        # go from patient leads that stay
        before, run = self.counts_before, self.per_patient_run
        self.assertGreater(self.row_counts()["mail.message"], before["mail.message"])
        run.action_rollback()
        self.assertEqual(self.row_counts(), before)

    def test_per_patient_mode_runs_again_without_duplicates(self):
        counts = self.row_counts()
        again = self.migrate_appointments(appointment_mode="lead_per_patient")
        self.assertEqual(self.row_counts(), counts)
        self.assertEqual(again.summary()["resources"]["individual_appointments"]["created"], 0)

    def test_per_patient_mode_update_rewrites_the_note_and_the_event(self):
        aid = self.plain_appointments()[0]
        event = self.bound("individual_appointments", aid)
        note = self.env["mail.message"].search([("message_id", "like", ".%s@" % aid)])
        self.assertEqual(len(note), 1)
        self.assertNotIn("Cancelled", note.body)
        self.clinic.tick(60)
        self.patch("individual_appointments", aid, notes="Rebooked by phone")
        self.clinic.cancel("individual_appointments", aid, reason=30, note="Flu")
        run = self.migrate_appointments(appointment_mode="lead_per_patient")
        self.assertEqual(run.summary()["resources"]["individual_appointments"]["updated"], 1)
        self.assertIn("Cancelled", note.body)
        self.assertIn("Flu", note.body)
        self.assertIn("Rebooked by phone", note.body)
        self.assertFalse(event.active)
        self.assertEqual(
            self.env["mail.message"].search_count([("message_id", "like", ".%s@" % aid)]), 1
        )


@tagged("post_install", "-at_install")
class TestAppointmentScreens(HttpCase):
    def test_appointment_and_patient_leads_open_in_the_web_client(self):
        partner = self.env["res.partner"].create({"name": "Screen Patient"})
        patient_lead = self.env["crm.lead"].create(
            {"name": "Screen Patient", "partner_id": partner.id, "cliniko_lead_kind": "patient"}
        )
        start = fields.Datetime.now()
        appointment = self.env["crm.lead"].create(
            {
                "name": "Consultation – Screen Patient",
                "partner_id": partner.id,
                "cliniko_lead_kind": "appointment",
                "cliniko_patient_lead_id": patient_lead.id,
                "cliniko_starts_at": start,
                "cliniko_ends_at": start + timedelta(minutes=30),
                "cliniko_appointment_status": "cancelled",
                "cliniko_cancelled_at": start,
                "cliniko_cancellation_reason": "40",
            }
        )
        checks = {
            appointment: "div[name='cliniko_starts_at']",
            patient_lead: "div[name='cliniko_appointment_ids'] .o_data_row",
        }
        for lead, selector in checks.items():
            with self.subTest(lead=lead.cliniko_lead_kind):
                self.browser_js(
                    "/odoo/crm/%s" % lead.id,
                    "const tab = [...document.querySelectorAll('.o_notebook .nav-link')].find("
                    "  (link) => /Appointment/.test(link.textContent));"
                    "if (!tab) { console.error('no Appointment tab'); }"
                    "else { tab.click(); setTimeout(() => {"
                    "  if (document.querySelector(%r)) { console.log('test successful'); }"
                    "  else { console.error('missing %s'); } }, 500); }"
                    % (selector, selector.replace("'", "")),
                    ready="!!document.querySelector('.o_form_view .o_notebook')",
                    login="admin",
                )
