"""Cliniko appointments -> ``crm.lead`` of kind "appointment" and ``calendar.event``.

Three importers (individual appointments, group appointments, attendees) share the rules
below. What each record becomes, the status rule, updates, ``appointment_mode`` and why nothing
is sent: README.rst, "Appointments in detail".
"""

import logging
from collections import defaultdict
from datetime import UTC
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup

from odoo import Command, fields
from odoo.tools import plaintext2html

from ..cliniko_api import ClinikoNotFoundError, ClinikoPermissionError
from .importer import Importer, MappingError, register
from .values import link_id, parse_datetime, text

_logger = logging.getLogger(__name__)

STATUS_LABELS = {
    "booked": "Booked",
    "arrived": "Arrived",
    "completed": "Completed",
    "did_not_arrive": "Did not arrive",
    "cancelled": "Cancelled",
}
CANCELLATION_CODES = ("10", "20", "30", "31", "40", "50", "60")
INDIVIDUAL_ATTENDEE_REASON = "migrated with its individual appointment"
# Fields crm.lead.write() changes by itself when the stage changes: kept for the rollback.
STAGE_SIDE_EFFECTS = ("probability", "date_closed", "active")


# A visit that did not take place earns nothing: no expected revenue (an invoice, e.g. a
# cancellation fee, still sets its own total).
NO_REVENUE_STATUSES = ("cancelled", "did_not_arrive")
# Visits that tell whom a patient sees (the most recent one gives the lead's salesperson).
SEEN_STATUSES = ("booked", "arrived", "completed")


def expected_revenue(visit):
    if visit["status"] in NO_REVENUE_STATUSES:
        return 0.0
    return visit["kind"].price or 0.0


def event_description(lines):
    """The description of an appointment's event: one "label: value" line per known fact."""
    return Markup("<p>%s</p>") % Markup("<br/>").join(
        Markup("<b>%s:</b> %s") % (label, value) for label, value in lines if value
    )


def lead_link(lead):
    """Event values that link an event back to its lead ("Linked to" in the calendar), written
    after create so Odoo schedules no meeting activity on the lead."""
    model = lead.env["ir.model"]._get_id("crm.lead")
    return {"opportunity_id": lead.id, "res_model_id": model, "res_id": lead.id}


def appointment_status(record, ends_at, now, attendance=False):
    """The status of an appointment (or group attendance) ``record`` at ``now``."""
    if record.get("cancelled_at"):
        return "cancelled"
    if attendance:
        arrived = record.get("arrived") is True
        did_not_arrive = record.get("arrived") is False
    else:
        arrived = bool(record.get("patient_arrived"))
        did_not_arrive = bool(record.get("did_not_arrive"))
    if did_not_arrive:
        return "did_not_arrive"
    if ends_at and ends_at <= now:
        return "completed"
    return "arrived" if arrived else "booked"


def read_visit(record, booking, attendance=False):
    """The facts of one appointment: ``record`` is the individual appointment or the attendee,
    ``booking`` the appointment itself or the attendee's group appointment."""
    starts = parse_datetime(booking.get("starts_at"))
    if not starts:
        raise MappingError("the appointment has no start time")
    ends = parse_datetime(booking.get("ends_at")) or starts
    ends = max(ends, starts)
    reason = record.get("cancellation_reason")
    reason = str(reason) if reason is not None else None
    return {
        "attendance": attendance,
        "appointment_id": str(booking.get("id") or ""),
        "attendee_id": str(record.get("id")) if attendance else None,
        "patient_id": link_id(record.get("patient")),
        "practitioner_id": link_id(booking.get("practitioner")),
        "business_id": link_id(booking.get("business")),
        "appointment_type_id": link_id(booking.get("appointment_type")),
        "starts_at": starts,
        "ends_at": ends,
        "duration": int((ends - starts).total_seconds() // 60),
        "cancelled_at": parse_datetime(record.get("cancelled_at")),
        "cancellation_reason": reason if reason in CANCELLATION_CODES else None,
        "cancellation_description": text(record.get("cancellation_reason_description")),
        "cancellation_note": text(record.get("cancellation_note")),
        "notes": text(record.get("notes")),
        "archived": bool(record.get("archived_at") or (attendance and booking.get("archived_at"))),
        "created_at": parse_datetime(record.get("created_at")),
        "updated_at": parse_datetime(record.get("updated_at")),
    }


class _Lookups:
    """Batch look-ups of what other importers bound, per page (one query per resource)."""

    def __init__(self, importer):
        self.importer = importer

    def bound(self, resource, ids, model):
        found = {
            key: record
            for key, record in self.importer.runner.records(resource, ids).items()
            if record._name == model
        }
        prefetch = [record.id for record in found.values()]
        return {key: record.with_prefetch(prefetch) for key, record in found.items()}


class _ScheduleMixin:
    """Shared helpers: the run's clock and time zone, names, lookups, writes."""

    def _start_resource(self):
        self.now = fields.Datetime.now()
        self.mode = self.run.appointment_mode or "lead_per_appointment"
        # the clinic's time zone (its business's), for a location that has none of its own
        self.default_tz = self.runner.connection._cliniko_tz()
        self._zones = {}
        self.lookups = _Lookups(self)

    def _sorted_params(self):
        params = [("q[]", condition) for condition in self.graph_resource.list_filters]
        params.append(("sort", "starts_at:asc,created_at:asc"))
        return params

    def _local(self, moment, location):
        name = location.tz or self.default_tz
        if name not in self._zones:
            try:
                self._zones[name] = ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                self._zones[name] = UTC
        return moment.replace(tzinfo=UTC).astimezone(self._zones[name])

    def _reference(self, visits):
        """Users, locations and types of ``visits`` (lists of read_visit dicts)."""
        ids = defaultdict(set)
        for visit in visits:
            for key in ("practitioner_id", "business_id", "appointment_type_id"):
                if visit.get(key):
                    ids[key].add(visit[key])
        self._users = self.lookups.bound("practitioners", ids["practitioner_id"], "res.users")
        self._locations = self.lookups.bound("businesses", ids["business_id"], "cliniko.location")
        self._types = self.lookups.bound(
            "appointment_types", ids["appointment_type_id"], "cliniko.appointment.type"
        )

    def _resolve_reference(self, visit, warnings):
        Users = self.env["res.users"]
        user = self._users.get(visit["practitioner_id"], Users)
        if visit["practitioner_id"] and not user:
            warnings.append(
                "practitioner %s has no Odoo user: left unassigned" % visit["practitioner_id"]
            )
        location = self._locations.get(visit["business_id"], self.env["cliniko.location"])
        if visit["business_id"] and not location:
            warnings.append("location %s was not migrated: left empty" % visit["business_id"])
        kind = self._types.get(visit["appointment_type_id"], self.env["cliniko.appointment.type"])
        if visit["appointment_type_id"] and not kind:
            warnings.append(
                "appointment type %s was not migrated: left empty" % visit["appointment_type_id"]
            )
        visit.update(user=user, location=location, kind=kind)


class _VisitImporter(_ScheduleMixin, Importer):
    """An appointment seen from one patient: an individual appointment or a group attendance."""

    model = "crm.lead"
    attendance = False

    # -- hooks -------------------------------------------------------------------------------
    def before_resource(self):
        self._start_resource()
        Stage = self.env["crm.stage"]
        self.stages = {status: Stage._cliniko_stage(status) for status in STATUS_LABELS}
        self.lead_defaults = self.runner.lead_defaults("appointment")
        self.note_subtype = self.env.ref("mail.mt_note")
        self.bot = self.env.ref("base.partner_root")

    def _booking(self, item):
        """The record that holds the schedule, practitioner, type and location."""
        return item.source

    def _up_to_date(self, item):
        if not super()._up_to_date(item):
            return False
        # Cliniko's record did not change, but time may have moved its status (booked -> done).
        booking = self._booking_or_none(item)
        if booking is None or not item.ref.synced_at:
            return True
        ends = parse_datetime(booking.get("ends_at")) or parse_datetime(booking.get("starts_at"))
        before = appointment_status(item.source, ends, item.ref.synced_at, self.attendance)
        return before == appointment_status(item.source, ends, self.now, self.attendance)

    def _finish(self, items):
        # before the page's audit lines and written digests are stored, so these count too
        self._assign_practitioners(items)
        super()._finish(items)

    def _assign_practitioners(self, items):
        """Every practitioner a patient has seen (or is booked with) on the patient's lead,
        the most recent one as its salesperson, so "My Pipeline" works for a practitioner."""
        done = [
            item
            for item in items
            if item.action in ("create", "update")
            and isinstance(item.values, dict)
            and item.values.get("patient_lead")
        ]
        if not done:
            return
        by_lead = {}
        for item in done:
            by_lead.setdefault(item.values["patient_lead"].id, item)
        leads = self.env["crm.lead"].browse(list(by_lead))
        seen = defaultdict(list)  # patient lead id -> [(start, user id)]
        for item in done:
            visit = item.values
            if visit["user"] and visit["status"] in SEEN_STATUSES:
                seen[visit["patient_lead"].id].append((visit["starts_at"], visit["user"].id))
        for lead, user, start in self.env["crm.lead"]._read_group(
            [
                ("cliniko_patient_lead_id", "in", leads.ids),
                ("user_id", "!=", False),
                ("cliniko_appointment_status", "in", SEEN_STATUSES),
            ],
            ["cliniko_patient_lead_id", "user_id"],
            ["cliniko_starts_at:max"],
        ):
            seen[lead.id].append((start, user.id))
        for lead in leads:
            visits = seen.get(lead.id)
            if not visits:
                continue
            past = [visit for visit in visits if visit[0] <= self.now]
            latest = max(past) if past else min(visits)
            users = {user_id for _start, user_id in visits} | set(
                lead.cliniko_practitioner_user_ids.ids
            )
            self.write_changes(
                by_lead[lead.id],
                lead,
                {
                    "user_id": latest[1],
                    "cliniko_practitioner_user_ids": [Command.set(sorted(users))],
                },
            )

    def _booking_or_none(self, item):
        try:
            return self._booking(item)
        except MappingError:
            return None

    def prepare(self, items):
        visits = []
        for item in items:
            booking = self._booking_or_none(item)
            if booking is not None:
                visits.append(
                    {
                        "patient_id": link_id(item.source.get("patient")),
                        "practitioner_id": link_id(booking.get("practitioner")),
                        "business_id": link_id(booking.get("business")),
                        "appointment_type_id": link_id(booking.get("appointment_type")),
                    }
                )
        self._reference(visits)
        self._partners = self.lookups.bound(
            "patients", {v["patient_id"] for v in visits if v["patient_id"]}, "res.partner"
        )
        partners = self.env["res.partner"].browse([p.id for p in self._partners.values()])
        self._patient_leads = self.env["crm.lead"]._cliniko_patient_leads(partners)

    def map(self, item):
        visit = read_visit(item.source, self._booking(item), self.attendance)
        if not visit["patient_id"]:
            raise MappingError("the appointment has no patient")
        partner = self._partners.get(visit["patient_id"])
        if not partner:
            raise MappingError(
                "patient %s was not migrated (unknown to Cliniko, deleted, merged away or "
                "failed)" % visit["patient_id"]
            )
        warnings = []
        patient_lead = self._patient_leads.get(partner.id, self.env["crm.lead"])
        if not patient_lead:
            if self.mode == "lead_per_patient":
                raise MappingError("the lead of patient %s is missing" % visit["patient_id"])
            warnings.append("the lead of patient %s is missing" % visit["patient_id"])
        self._resolve_reference(visit, warnings)
        visit.update(
            partner=partner,
            patient_lead=patient_lead,
            status=appointment_status(item.source, visit["ends_at"], self.now, self.attendance),
        )
        item.message = "; ".join(warnings)
        return visit

    # -- values ------------------------------------------------------------------------------
    def _stage(self, visit):
        if visit["status"] == "booked" and visit["kind"].stage_id:
            return visit["kind"].stage_id
        return self.stages[visit["status"]]

    def _lead_values(self, visit):
        local = self._local(visit["starts_at"], visit["location"])
        name = " – ".join(
            [visit["kind"].name or "Appointment", visit["partner"].name or "", str(local.date())]
        )
        stage = self._stage(visit)
        values = dict(
            self.lead_defaults,
            name=name,
            type="opportunity",
            cliniko_lead_kind="appointment",
            partner_id=visit["partner"].id,
            cliniko_patient_lead_id=visit["patient_lead"].id or False,
            cliniko_patient_id=visit["patient_id"],
            user_id=visit["user"].id or False,
            stage_id=stage.id or False,
            cliniko_appointment_id=visit["appointment_id"] or False,
            cliniko_attendee_id=visit["attendee_id"] or False,
            cliniko_is_group=visit["attendance"],
            cliniko_appointment_status=visit["status"],
            cliniko_starts_at=visit["starts_at"],
            cliniko_ends_at=visit["ends_at"],
            cliniko_duration_minutes=visit["duration"],
            cliniko_appointment_type_id=visit["kind"].id or False,
            cliniko_location_id=visit["location"].id or False,
            cliniko_practitioner_id=visit["practitioner_id"] or False,
            cliniko_cancelled_at=visit["cancelled_at"] or False,
            cliniko_cancellation_reason=visit["cancellation_reason"] or False,
            cliniko_cancellation_description=visit["cancellation_description"] or False,
            cliniko_cancellation_note=visit["cancellation_note"] or False,
            description=plaintext2html(visit["notes"]) if visit["notes"] else False,
            expected_revenue=expected_revenue(visit),
            date_deadline=local.date(),
            cliniko_created_at=visit["created_at"] or False,
            cliniko_updated_at=visit["updated_at"] or False,
            active=not visit["archived"],
        )
        # Predictive lead scoring means nothing for a visit and costs most of the create:
        # giving both probabilities skips it.
        probability = 100 if stage.is_won else 0
        values.update(probability=probability, automated_probability=probability)
        if stage.is_won:
            values["date_closed"] = visit["ends_at"]
        return values

    def _event_values(self, visit):
        partners = visit["partner"] | visit["user"].partner_id
        return {
            # what the front desk reads in the calendar; private, so "Busy" to non-clinical users
            "name": " – ".join(filter(None, [visit["partner"].name, visit["kind"].name])),
            "start": visit["starts_at"],
            "stop": visit["ends_at"],
            "allday": False,
            "user_id": visit["user"].id or False,
            "partner_ids": [Command.set(partners.ids)],
            "privacy": "private",
            "cliniko_appointment_event": True,
            "show_as": "busy",
            "alarm_ids": [Command.clear()],
            "location": visit["location"].name or False,
            "description": event_description(
                [
                    ("Patient", visit["partner"].name),
                    ("Appointment type", visit["kind"].name),
                    ("Practitioner", visit["user"].name or "unassigned"),
                    ("Location", visit["location"].name),
                    ("Status", STATUS_LABELS[visit["status"]]),
                ]
            ),
            # a cancelled appointment no longer holds the slot; the event stays as history
            "active": not visit["archived"] and visit["status"] != "cancelled",
        }

    def _message_id(self, item):
        return "<cliniko.%s.%s.%s@migration>" % (
            self.runner.connection.id,
            self.resource,
            item.cliniko_id,
        )

    def _note_values(self, item, visit):
        author = visit["user"].partner_id or self.bot
        return {
            "model": "crm.lead",
            "res_id": visit["patient_lead"].id,
            "message_type": "comment",
            "subtype_id": self.note_subtype.id,
            "is_internal": True,
            "author_id": author.id,
            "email_from": author.email_formatted or False,
            "body": self._note_body(visit),
            "date": visit["starts_at"],
            "message_id": self._message_id(item),
        }

    def _note_body(self, visit):
        local = self._local(visit["starts_at"], visit["location"])
        lines = [
            (
                "Group appointment" if visit["attendance"] else "Appointment",
                visit["kind"].name or "-",
            ),
            (
                "When",
                "%s (%s min)" % (local.strftime("%Y-%m-%d %H:%M %Z"), visit["duration"]),
            ),
            ("Practitioner", visit["user"].name or "unassigned"),
            ("Location", visit["location"].name),
            ("Status", STATUS_LABELS[visit["status"]]),
        ]
        if visit["cancelled_at"]:
            cancelled = self._local(visit["cancelled_at"], visit["location"])
            lines.append(
                (
                    "Cancelled",
                    " – ".join(
                        filter(
                            None,
                            [
                                cancelled.strftime("%Y-%m-%d %H:%M %Z"),
                                visit["cancellation_description"],
                                visit["cancellation_note"],
                            ],
                        )
                    ),
                )
            )
        lines.append(("Notes", visit["notes"]))
        return Markup("<p>%s</p>") % Markup("<br/>").join(
            Markup("<b>%s:</b> %s") % (label, value) for label, value in lines if value
        )

    def _with_reply_to(self, notes):
        """Precompute ``reply_to`` (one batch per author) so create() does not, per message."""
        by_author = defaultdict(list)
        for values in notes:
            by_author[(values["author_id"], values["email_from"])].append(values)
        for (author_id, email_from), group in by_author.items():
            leads = self.env["crm.lead"].browse(sorted({values["res_id"] for values in group}))
            reply_to = leads._notify_get_reply_to_batch(
                defaults=dict.fromkeys(leads.ids, email_from),
                author_ids=dict.fromkeys(leads.ids, author_id),
            )
            for values in group:
                values["reply_to"] = reply_to[values["res_id"]]
        return notes

    # -- create ------------------------------------------------------------------------------
    def create_batch(self, items):
        if self.mode == "lead_per_patient":
            self._create_notes(items)
        else:
            self._create_leads(items)

    def _own_events(self, items):
        """The events this importer creates for ``items`` (None where a shared one is used)."""
        return [None] * len(items)

    def _session_event(self, item):
        return self.env["calendar.event"]

    def _create_leads(self, items):
        events = self._own_events(items)
        values_list = []
        for item, event in zip(items, events, strict=True):
            values = self._lead_values(item.values)
            values["cliniko_calendar_event_id"] = (event or self._session_event(item)).id or False
            values_list.append(values)
        leads = self.env["crm.lead"].create(values_list)
        for item, event, lead, values in zip(items, events, leads, values_list, strict=True):
            item.wrote(lead, values)
            if event:
                # written after create: at create it would post a "meeting scheduled" note
                event.write(lead_link(lead))
                item.audit("create", event)
            item.audit("create", lead)
            item.target = lead

    def _create_notes(self, items):
        events = self._own_events(items)
        notes = self.env["mail.message"].create(
            self._with_reply_to([self._note_values(item, item.values) for item in items])
        )
        for item, event, note in zip(items, events, notes, strict=True):
            if event:
                event.write(lead_link(item.values["patient_lead"]))
                item.audit("create", event)
            item.audit("create", note)
            item.target = event or note

    # -- update ------------------------------------------------------------------------------
    def update_one(self, item, main):
        visit = item.values
        if main._name == "crm.lead":
            return self._update_lead(item, main, visit)
        changed = False
        if main._name == "calendar.event":
            changed = self.write_changes(
                item, main, dict(self._event_values(visit), **lead_link(visit["patient_lead"]))
            )
        return self._update_note(item, visit) or changed

    def _update_lead(self, item, lead, visit):
        values = self._lead_values(visit)
        stage = self.env["crm.stage"].browse(values["stage_id"])
        status_moved = lead.cliniko_appointment_status != visit["status"]
        for name in self.graph_resource.create_only_fields("crm.lead"):
            values.pop(name, None)
        extra = ()
        if status_moved and stage:
            values["stage_id"] = stage.id
            extra = STAGE_SIDE_EFFECTS
        else:
            # the stage follows the status when it moves, and only then: people move leads
            values.pop("stage_id", None)
        if status_moved and visit["status"] in NO_REVENUE_STATUSES:
            values["expected_revenue"] = 0.0
        changed = self.write_changes(item, lead, values, extra)
        if status_moved and stage.is_won and lead.date_closed != visit["ends_at"]:
            # crm.lead.write() dates a won lead "now": the visit ended at its own time
            lead.date_closed = visit["ends_at"]
        return self._update_own_event(item, lead, visit) or changed

    def _update_own_event(self, item, lead, visit):
        return False

    def _update_note(self, item, visit):
        note = self.env["mail.message"].search(
            [("message_id", "=", self._message_id(item)), ("model", "=", "crm.lead")], limit=1
        )
        values = self._note_values(item, visit)
        if not note:
            note = self.env["mail.message"].create(self._with_reply_to([values]))
            item.audit("create", note, "note was missing; created again")
            return True
        return self.write_changes(item, note, {"res_id": values["res_id"], "body": values["body"]})


@register
class IndividualAppointmentImporter(_VisitImporter):
    resource = "individual_appointments"

    def list_params(self):
        return self._sorted_params()

    def _own_events(self, items):
        events = self.env["calendar.event"].create(
            [self._event_values(item.values) for item in items]
        )
        return list(events)

    def _update_own_event(self, item, lead, visit):
        event = lead.cliniko_calendar_event_id
        values = dict(self._event_values(visit), **lead_link(lead))
        if not event:
            event = self.env["calendar.event"].create(self._event_values(visit))
            event.write(lead_link(lead))
            item.audit("create", event, "calendar event was missing; created again")
            self.write_changes(item, lead, {"cliniko_calendar_event_id": event.id})
            return True
        return self.write_changes(item, event, values)


@register
class AttendeeImporter(_VisitImporter):
    """Group attendances (the attendees of individual appointments are skipped)."""

    resource = "attendees"
    attendance = True

    def import_page(self, records):
        self._classify(records)
        return super().import_page(records)

    def _classify(self, records):
        """Sort the page's bookings into individual appointments and group appointments."""
        booking_ids = {
            link_id(record.get("booking")) for record in records if not record.get("deleted_at")
        } - {None}
        self._individual = set(self.binder.to_internal("individual_appointments", booking_ids))
        self._groups = {}
        rest = booking_ids - self._individual
        if rest and not self.runner._counter("group_appointments").unavailable:
            try:
                for group in self._fetch("/group_appointments", rest, ("archived_at:*",)):
                    self._groups[str(group["id"])] = group
            except (ClinikoPermissionError, ClinikoNotFoundError) as error:
                # Group appointments are not available to this key: attendances of group
                # classes fail one by one below (no class to attach them to).
                _logger.info("group appointments cannot be read: %s", error)
        unknown = rest - set(self._groups)
        if unknown:
            found = self._fetch(
                "/individual_appointments",
                unknown,
                ("archived_at:*", "cancelled_at:*", "deleted_at:*"),
            )
            self._individual |= {str(appointment["id"]) for appointment in found}
        self._session_events = self.lookups.bound(
            "group_appointments", set(self._groups), "calendar.event"
        )

    def _fetch(self, path, ids, filters):
        params = [("q[]", "id:=%s" % ",".join(sorted(ids)))]
        params += [("q[]", condition) for condition in filters]
        return list(self.runner.client.iter_records(path, params=params, per_page=100))

    def skip_reason(self, record):
        reason = super().skip_reason(record)
        if reason:
            return reason
        if link_id(record.get("booking")) in self._individual:
            return INDIVIDUAL_ATTENDEE_REASON
        return None

    def _booking(self, item):
        booking_id = link_id(item.source.get("booking"))
        group = self._groups.get(booking_id)
        if group is None:
            unavailable = self.runner._counter("group_appointments").unavailable
            if unavailable:
                raise MappingError(
                    "its group appointment %s cannot be read: group appointments are not "
                    "available (%s)" % (booking_id, unavailable)
                )
            raise MappingError("its booking %s does not exist in Cliniko" % booking_id)
        return group

    def _session_event(self, item):
        event = self._session_events.get(link_id(item.source.get("booking")))
        return event or self.env["calendar.event"]

    def map(self, item):
        visit = super().map(item)
        if not self._session_event(item):
            item.message = "; ".join(
                filter(None, [item.message, "the group appointment has no calendar event"])
            )
        return visit

    def _create_notes(self, items):
        # the session's event is shared: the binding points to the attendance's own note
        notes = self.env["mail.message"].create(
            self._with_reply_to([self._note_values(item, item.values) for item in items])
        )
        for item, note in zip(items, notes, strict=True):
            item.audit("create", note)
            item.target = note

    def _update_own_event(self, item, lead, visit):
        event = self._session_event(item)
        if event and lead.cliniko_calendar_event_id != event:
            return self.write_changes(item, lead, {"cliniko_calendar_event_id": event.id})
        return False


@register
class GroupAppointmentImporter(_ScheduleMixin, Importer):
    """A group session -> one calendar event with every current attendee."""

    resource = "group_appointments"
    model = "calendar.event"

    def before_resource(self):
        self._start_resource()

    def list_params(self):
        return self._sorted_params()

    def prepare(self, items):
        visits, patient_ids = [], set()
        for item in items:
            visits.append(
                {
                    "practitioner_id": link_id(item.source.get("practitioner")),
                    "business_id": link_id(item.source.get("business")),
                    "appointment_type_id": link_id(item.source.get("appointment_type")),
                }
            )
            patient_ids.update(str(pid) for pid in item.source.get("patient_ids") or [])
        self._reference(visits)
        self._partners = self.lookups.bound("patients", patient_ids, "res.partner")

    def map(self, item):
        record = item.source
        starts = parse_datetime(record.get("starts_at"))
        if not starts:
            raise MappingError("the group appointment has no start time")
        ends = max(parse_datetime(record.get("ends_at")) or starts, starts)
        visit = {
            "practitioner_id": link_id(record.get("practitioner")),
            "business_id": link_id(record.get("business")),
            "appointment_type_id": link_id(record.get("appointment_type")),
        }
        warnings = []
        self._resolve_reference(visit, warnings)
        partners = visit["user"].partner_id
        missing = []
        for patient_id in record.get("patient_ids") or []:
            partner = self._partners.get(str(patient_id))
            if partner:
                partners |= partner
            else:
                missing.append(str(patient_id))
        if missing:
            warnings.append("attendee patient(s) not migrated: %s" % ", ".join(missing))
        item.message = "; ".join(warnings)
        return {
            "event": {
                "name": "Group – %s" % (visit["kind"].name or "appointment"),
                "start": starts,
                "stop": ends,
                "allday": False,
                "user_id": visit["user"].id or False,
                "partner_ids": [Command.set(partners.ids)],
                "privacy": "private",
                "cliniko_appointment_event": True,
                "show_as": "busy",
                "alarm_ids": [Command.clear()],
                "location": visit["location"].name or False,
                "description": event_description(
                    [
                        ("Group appointment", visit["kind"].name),
                        ("Practitioner", visit["user"].name or "unassigned"),
                        ("Location", visit["location"].name),
                        (
                            "Attendees",
                            ", ".join((partners - visit["user"].partner_id).mapped("name")),
                        ),
                    ]
                ),
                "active": not record.get("archived_at"),
            },
            "schedule": {
                "cliniko_starts_at": starts,
                "cliniko_ends_at": ends,
                "cliniko_duration_minutes": int((ends - starts).total_seconds() // 60),
                "cliniko_appointment_type_id": visit["kind"].id or False,
                "cliniko_location_id": visit["location"].id or False,
                "cliniko_practitioner_id": visit["practitioner_id"] or False,
            },
        }

    def create_batch(self, items):
        events = self.env["calendar.event"].create([item.values["event"] for item in items])
        for item, event in zip(items, events, strict=True):
            item.audit("create", event)
            item.target = event

    def update_one(self, item, event):
        changed = self.write_changes(item, event, item.values["event"])
        attendances = (
            self.env["crm.lead"]
            .with_context(active_test=False)
            .search([("cliniko_calendar_event_id", "=", event.id), ("cliniko_is_group", "=", True)])
        )
        for lead in attendances:
            changed = self.write_changes(item, lead, item.values["schedule"]) or changed
        return changed
