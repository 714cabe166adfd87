"""Treatment notes, communications and patient forms -> chatter history on the patient's lead.

The three resources are read in ONE pass so the chatter, which Odoo orders by id, is also in
date order across them:

1. The first history resource the runner reaches drives the pass; its importer builds the
   group: itself and every other history resource of the run not done yet.
2. Each resource is read page by page, oldest first (``sort=created_at:asc``); ``heapq.merge``
   interleaves the three streams on the creation time, so no resource is ever held whole.
3. Every chunk of the merged stream goes through each resource's own importer (skip, binding,
   up to date, map, update), but the creates of the whole chunk are made in ONE
   ``mail.message.create`` in date order, with the headers Odoo would otherwise compute one
   message at a time (``email_from``, ``reply_to``, ``message_id``) precomputed.
4. Bindings, audit lines and counters stay per resource; the resources of the group that the
   pass covered are marked done, so the runner does not read them again.

Bodies come from ``rendering`` (Cliniko's text escaped, its markup reduced to an allow-list);
``mail.message.body`` is an Html field, so the ORM runs ``odoo.tools.html_sanitize`` on them too.

What each record becomes (the message is never sent: ``mail.message.create`` notifies nobody):

- a **treatment note**: an internal note dated with the note's ``created_at``, authored by the
  practitioner's partner (OdooBot when the practitioner has no Odoo user: the name is in the
  body), the structured content rendered whole by ``rendering``; draft or final shown as a badge
  and kept in ``cliniko_note_state``. A note tied to a migrated appointment is copied on the
  appointment's lead too (two messages, both audited). The latest final note is summarised on
  the patient's lead. Deleted notes are skipped; a note whose patient was not migrated, or whose
  appointment is gone from Cliniko (deleted or unknown), fails with the reason. A note whose
  appointment still exists in Cliniko but has no lead in Odoo stays on the patient's lead only,
  and the audit line says so.
- a **communication**: an SMS is a ``message_type='sms'`` message (never ``_message_sms``);
  e-mails, letters, calls and memos are internal comments. E-mails keep their subject, e-mails
  and phone calls carry Odoo's activity type (subtype "Activities"); the others are notes. A
  received message is authored by the patient, a sent one by the clinic's company.
- a **patient form**: completed forms become a note authored by the patient with the answers,
  the signature ("Signed" and its id; the image is not fetched) and the form's link, dated when
  the form was created (the stream is ordered by creation time, the only order Cliniko
  guarantees; the completion time is in the body). Forms never completed are skipped.
"""

import heapq
import json
import logging
from collections import namedtuple
from datetime import datetime

from ..cliniko_api import ClinikoBadRequestError, ClinikoNotFoundError
from . import graph
from .importer import Importer, MappingError, importer_class, register
from .rendering import (
    note_summary,
    render_communication,
    render_patient_form,
    render_treatment_note,
)
from .snapshots import changed_values, snapshot
from .values import link_id, parse_datetime, text

_logger = logging.getLogger(__name__)

# Read together, in this order on equal timestamps (``graph.Resource.history``).
HISTORY_RESOURCES = tuple(resource.name for resource in graph.GRAPH if resource.history)
# Fields of a migrated message that a later run may rewrite (headers such as message_id never).
UPDATABLE_FIELDS = (
    "model",
    "res_id",
    "body",
    "date",
    "author_id",
    "email_from",
    "subject",
    "message_type",
    "subtype_id",
    "mail_activity_type_id",
    "is_internal",
    "cliniko_note_state",
    "cliniko_restricted",
    "cliniko_restricted_user_id",
)
# Cliniko communication type codes that have an Odoo activity type.
ACTIVITY_TYPES = {2: "mail.mail_activity_data_email", 3: "mail.mail_activity_data_call"}
SMS_TYPE_CODE = 1
RECEIVED = 2
# Never routable: these messages are history, not mail that could be answered.
MESSAGE_ID_DOMAIN = "migration.invalid"
_OLDEST = datetime.min

_Entry = namedtuple("_Entry", "key rank seq importer record after")


class _Batch:
    """What the importers of one merged chunk deferred: creates and finishes."""

    __slots__ = ("creates", "finishes", "leads")

    def __init__(self, leads=None):
        self.creates = []
        self.finishes = []
        self.leads = leads


def _positions(cursor):
    """``{resource: [page URL, records done] or None}`` from a merged pass's cursor."""
    if not cursor:
        return {}
    try:
        positions = json.loads(cursor)
    except ValueError:
        return {}  # not one of ours: read again from the start (the bindings skip the rest)
    return positions if isinstance(positions, dict) else {}


def _cursor(positions, group):
    """The cursor of a merged pass (see ``HistoryImporter.pages``), None once it is read."""
    state = {member.resource: positions.get(member.resource, [None, 0]) for member in group}
    if all(position is None for position in state.values()):
        return None
    return json.dumps(state, separators=(",", ":"))


def history_message_id(connection, resource, cliniko_id, role):
    """The ``Message-Id`` of a migrated message: stable, so a later run finds its copies."""
    return "<cliniko.%s.%s.%s.%s@%s>" % (
        connection.id,
        resource,
        cliniko_id,
        role,
        MESSAGE_ID_DOMAIN,
    )


def patient_leads(importer, patient_ids):
    """``{cliniko patient id: patient lead}`` for the patients already migrated (one query each
    for bindings, partners and leads)."""
    partners = importer.runner.records("patients", sorted(set(filter(None, patient_ids))))
    if not partners:
        return {}
    records = importer.env["res.partner"].browse([partner.id for partner in partners.values()])
    by_partner = importer.env["crm.lead"]._cliniko_patient_leads(records)
    return {
        cliniko_id: by_partner[partner.id]
        for cliniko_id, partner in partners.items()
        if partner.id in by_partner
    }


def require_patient_lead(leads, patient_id):
    """The patient's lead, or MappingError saying why there is none."""
    if not patient_id:
        raise MappingError("the record names no patient")
    lead = leads.get(patient_id)
    if not lead:
        raise MappingError("its patient %s was not migrated" % patient_id)
    return lead


class HistoryImporter(Importer):
    """Base of the three chatter history importers; see the module docstring."""

    model = "mail.message"

    def __init__(self, runner):
        super().__init__(runner)
        self._batch = None
        self._group = None
        self._leads = {}
        self._refs = {}

    # -- per resource --------------------------------------------------------------------------
    def message_date(self, record):
        """The date of the message (and the merge key): Cliniko's creation time."""
        return parse_datetime(record.get("created_at")) or parse_datetime(record.get("updated_at"))

    @property
    def _tz(self):
        """The clinic's time zone (its business's), for the times in the bodies: not UTC."""
        if getattr(self, "_tz_name", None) is None:
            self._tz_name = self.runner.connection._cliniko_tz()
        return self._tz_name

    def setup(self):
        """Once per run, before the merged pass reads anything."""
        self._refs = {
            "note": self.env.ref("mail.mt_note").id,
            "activities": self.env.ref("mail.mt_activities").id,
            "odoobot": self.env.ref("base.partner_root").id,
        }

    def prepare(self, items):
        if self._batch is not None and self._batch.leads is not None:
            self._leads = self._batch.leads  # looked up once for the whole merged chunk
            return
        self._leads = patient_leads(self, [link_id(item.source.get("patient")) for item in items])

    def patient_lead(self, item):
        return require_patient_lead(self._leads, link_id(item.source.get("patient")))

    def message_values(self, item, role, lead, values):
        """Values of one ``mail.message`` on ``lead``; headers are completed at create time."""
        return (
            role,
            dict(
                values,
                model="crm.lead",
                res_id=lead.id,
                message_id=history_message_id(
                    self.runner.connection, self.resource, item.cliniko_id, role
                ),
            ),
        )

    def create_batch(self, items):
        self._create_messages([(self, item) for item in items])

    def update_one(self, item, main):
        changed = False
        for role, values in item.values["messages"]:
            message = main if role == "patient" else self._existing_copy(values)
            if not message:
                self._create_messages([(self, item)], roles=(role,))
                changed = True
                continue
            self._complete_headers([values])
            wanted = {name: values[name] for name in UPDATABLE_FIELDS if name in values}
            changed = self.write_changes(item, message, wanted) or changed
        return changed

    def _existing_copy(self, values):
        return self.env["mail.message"].search(
            [("message_id", "=", values["message_id"]), ("model", "=", "crm.lead")], limit=1
        )

    # -- creating messages (one create per chunk, in date order) ------------------------------
    def _create_messages(self, pairs, roles=None):
        """Create the messages of ``pairs`` (``(importer, item)`` in date order) in one batch."""
        vals_list, owners = [], []
        for _importer, item in pairs:
            for role, values in item.values["messages"]:
                if roles is None or role in roles:
                    vals_list.append(dict(values))
                    owners.append((item, role))
        if not vals_list:
            return
        self._complete_headers(vals_list)
        messages = self.env["mail.message"].create(vals_list)
        for (item, role), message in zip(owners, messages, strict=True):
            if role == "patient":
                item.target = message
                item.audit("create", message)
            else:
                item.audit("create", message, "copy on the %s lead" % role)

    def _complete_headers(self, vals_list):
        """Precompute what ``mail.message.create`` would otherwise compute one by one."""
        authors = self.env["res.partner"].browse(
            sorted({values["author_id"] for values in vals_list if values.get("author_id")})
        )
        email_from = {partner.id: partner.email_formatted or False for partner in authors}
        leads = self.env["crm.lead"].browse(sorted({values["res_id"] for values in vals_list}))
        reply_to = leads._notify_get_reply_to(default=False) if leads else {}
        for values in vals_list:
            values["email_from"] = email_from.get(values.get("author_id"), False)
            values.setdefault("reply_to", reply_to.get(values["res_id"]) or values["email_from"])

    def _author(self, partner):
        return partner.id if partner else self._refs["odoobot"]

    # -- the merged pass (driven by the first history resource the runner reaches) ------------
    def before_resource(self):
        self._group = self._build_group()
        for member in self._group:
            member.setup()

    def _build_group(self):
        wanted = [
            resource.name
            for resource in graph.load_order(self.run._selected_resources())
            if resource.history
        ]
        group = [self]
        for name in wanted:
            if name == self.resource or self.runner._counter(name).done:
                continue
            cls = importer_class(graph.get(name))
            if cls is not None:
                group.append(cls(self.runner))
        return group

    def pages(self):
        """Chunks of the merged, date-ordered stream of every resource of the group.

        Resumable: before yielding a chunk, ``next_cursor`` is set to where each stream of
        the group stands once the chunk is imported (JSON: per resource, the URL of the page
        holding its next record and how many records of that page are done; null once that
        resource is read to the end), None when every stream is. A pass that stops after a
        chunk starts again there: the pages already done are not read again (the page a
        stream was in the middle of is, without its records already done)."""
        group = self._group or [self]
        positions = _positions(self.resume_cursor)
        streams = [self._entries(member, rank, positions) for rank, member in enumerate(group)]
        chunk = []
        try:
            for entry in heapq.merge(*streams):
                chunk.append(entry)
                positions[entry.importer.resource] = entry.after
                if len(chunk) >= self.runner.page_size:
                    self.next_cursor = _cursor(positions, group)
                    yield chunk
                    chunk = []
            if chunk:
                self.next_cursor = _cursor(positions, group)
                yield chunk
        finally:
            for stream in streams:  # each stops its page reader
                stream.close()

    @staticmethod
    def _entries(member, rank, positions):
        """The member's records as merge entries, from its position in ``positions`` (absent:
        from the start); each says where the member stands once it is imported (``after``)."""
        position = positions.get(member.resource, [None, 0])
        if position is None:
            return  # read to the end before
        url, skip = position
        member.resume_cursor = url
        seq = 0
        pages = Importer.pages(member)
        try:
            for records in pages:
                page_url, following, size = member.page_url, member.next_cursor, len(records)
                for index in range(skip, size):
                    record = records[index]
                    seq += 1
                    try:
                        key = member.message_date(record) or _OLDEST
                    except (TypeError, ValueError, AttributeError):
                        key = _OLDEST  # a bad date: the record fails when it is mapped
                    if index + 1 < size:
                        after = [page_url, index + 1]
                    else:
                        after = [following, 0] if following else None
                    yield _Entry(key, rank, seq, member, record, after)
                if skip >= size:
                    # nothing of this page left to import: the stream stands at the next page
                    positions[member.resource] = [following, 0] if following else None
                skip = 0
        finally:
            pages.close()  # stops the stream's page reader

    def import_page(self, records):
        if records and isinstance(records[0], _Entry):
            return self._import_merged(records)
        return super().import_page(records)

    def _import_merged(self, entries):
        batch = _Batch(
            patient_leads(self, [link_id(entry.record.get("patient")) for entry in entries])
        )
        position = {id(entry.record): index for index, entry in enumerate(entries)}
        by_member = {}
        for entry in entries:
            by_member.setdefault(entry.importer, []).append(entry.record)
        items = []
        for member, records in by_member.items():
            member._batch = batch
            try:
                items.extend(Importer.import_page(member, records))
            finally:
                member._batch = None
        creates = sorted(batch.creates, key=lambda pair: position[id(pair[1].source)])
        self._create_in_order(creates)
        for member, member_items in batch.finishes:
            member.after_page(member_items)
            Importer._finish(member, member_items)
        return items

    def _create_in_order(self, pairs):
        if not pairs:
            return
        try:
            with self.env.cr.savepoint():
                self._create_messages(pairs)
                self.env.flush_all()
        except Exception:  # noqa: BLE001 - retried record by record below, in date order
            _logger.info("batch of %s history messages failed; retrying one by one", len(pairs))
            self.env.invalidate_all()
            for member, item in pairs:
                item.audits.clear()
                item.target = None
                member._guarded(item, lambda member=member, item=item: member.create_batch([item]))
            return
        for _member, item in pairs:
            item.done("create")

    # Inside a merged chunk, creates and finishes wait for the whole chunk.
    def _create(self, items):
        if self._batch is None:
            return super()._create(items)
        self._batch.creates.extend((self, item) for item in items)
        return None

    def _finish(self, items):
        if self._batch is None:
            self.after_page(items)
            return super()._finish(items)
        self._batch.finishes.append((self, items))
        return None

    def after_page(self, items):
        """After the page's messages exist, before its bindings and audit lines are written."""

    def after_resource(self):
        for member in self._group or ():
            if member is not self:
                self.runner._counter(member.resource).done = True


@register
class TreatmentNoteImporter(HistoryImporter):
    resource = "treatment_notes"

    def prepare(self, items):
        super().prepare(items)
        records = [item.source for item in items]
        practitioner_ids = {link_id(record.get("practitioner")) for record in records} - {None}
        self._authors = {
            cliniko_id: _partner_of(record)
            for cliniko_id, record in self.runner.records(
                "practitioners", sorted(practitioner_ids)
            ).items()
        }
        booking_ids = {link_id(record.get("booking")) for record in records} - {None}
        attendee_ids = {link_id(record.get("attendee")) for record in records} - {None}
        self._appointments = self.runner.records("individual_appointments", booking_ids)
        self._attendances = self.runner.records("attendees", attendee_ids)
        unbound = {
            link_id(record.get("booking"))
            for record in records
            if link_id(record.get("booking")) and not self._migrated_visits(record)
        }
        self._bookings_in_cliniko = self._existing_bookings(unbound)

    def _migrated_visits(self, record):
        """What the note's appointment became in Odoo (a lead, or an event or note in the
        "lead per patient" mode): the attendance first (group classes), then the booking."""
        found = []
        attendee_id = link_id(record.get("attendee"))
        booking_id = link_id(record.get("booking"))
        if attendee_id and attendee_id in self._attendances:
            found.append(self._attendances[attendee_id])
        if booking_id and booking_id in self._appointments:
            found.append(self._appointments[booking_id])
        return found

    def _appointment_lead(self, record):
        return next(
            (visit for visit in self._migrated_visits(record) if visit._name == "crm.lead"), None
        )

    def _existing_bookings(self, booking_ids):
        """Which of ``booking_ids`` Cliniko still has (any state but deleted); one request per
        hundred ids, only for the notes whose appointment has no lead."""
        found = set()
        ids = sorted(booking_ids)
        for start in range(0, len(ids), 100):
            params = [
                ("q[]", "id:=%s" % ",".join(ids[start : start + 100])),
                ("q[]", "archived_at:*"),
                ("q[]", "cancelled_at:*"),
            ]
            try:
                for page in self.runner.client.iter_pages("/bookings", params=params):
                    found.update(str(booking.get("id")) for booking in page.get("bookings") or [])
            except (ClinikoBadRequestError, ClinikoNotFoundError) as error:
                # Cannot tell: keep the notes (on the patient's lead) rather than fail them.
                _logger.info("could not look bookings up in Cliniko: %s", error)
                found.update(ids[start : start + 100])
        return found

    def map(self, item):
        record = item.source
        lead = self.patient_lead(item)
        date = self.message_date(record)
        if not date:
            raise MappingError("the note has no creation date")
        booking_id = link_id(record.get("booking"))
        appointment_lead = self._appointment_lead(record)
        if booking_id and not self._migrated_visits(record):
            if booking_id not in self._bookings_in_cliniko:
                raise MappingError(
                    "its appointment %s is gone from Cliniko (deleted or unknown)" % booking_id
                )
            item.message = (
                "its appointment %s was not migrated; the note is on the patient's lead only"
                % booking_id
            )
        practitioner_id = link_id(record.get("practitioner"))
        author = self._authors.get(practitioner_id)
        author_note = None
        if not author:
            name = text(record.get("author_name")) or "the practitioner"
            author_note = "Written in Cliniko by %s, who has no user in Odoo." % name
        draft = bool(record.get("draft"))
        common = {
            "message_type": "comment",
            "subtype_id": self._refs["note"],
            "is_internal": True,
            "author_id": self._author(author),
            "date": date,
            "body": render_treatment_note(record, author_note, self._tz),
            "subject": False,
            "mail_activity_type_id": False,
            "cliniko_note_state": "draft" if draft else "final",
        }
        messages = [self.message_values(item, "patient", lead, common)]
        if appointment_lead:
            messages.append(self.message_values(item, "appointment", appointment_lead, common))
        return {
            "messages": messages,
            "lead": lead,
            "summary": None if draft else note_summary(record),
            "date": date,
        }

    def after_page(self, items):
        """Summarise the latest final note of the page on each patient's lead (audited)."""
        latest = {}
        for item in items:
            if item.action not in ("create", "update") or not item.values:
                continue
            if not item.values.get("summary"):
                continue
            lead = item.values["lead"]
            if lead.id not in latest or item.values["date"] >= latest[lead.id].values["date"]:
                latest[lead.id] = item
        for item in latest.values():
            lead, date = item.values["lead"], item.values["date"]
            if lead.cliniko_last_note_date and lead.cliniko_last_note_date > date:
                continue
            wanted = {
                "cliniko_last_note_summary": item.values["summary"],
                "cliniko_last_note_date": date,
            }
            diff = changed_values(lead, wanted)
            if diff:
                previous = snapshot(lead, list(diff))
                lead.write(diff)
                item.audit("update", lead, "latest treatment note", {"values": previous})


@register
class CommunicationImporter(HistoryImporter):
    resource = "communications"

    def setup(self):
        super().setup()
        Message = self.env["mail.message"]
        self._sms = "sms" in dict(Message._fields["message_type"]._description_selection(self.env))
        self._activity_types = {
            code: self.env.ref(xmlid, raise_if_not_found=False)
            for code, xmlid in ACTIVITY_TYPES.items()
        }
        self._clinic_partner = self._business_partner()

    def _business_partner(self):
        """The clinic as the author of what it sent: its first business's partner (made from
        the business on first use, audited so a rollback removes it), else the company's."""
        location = self.runner.connection._cliniko_main_location()
        if not location:
            company = self.runner.connection.company_id or self.env.company
            return company.partner_id
        if not location.partner_id:
            partner = self.env["res.partner"].create(location._cliniko_partner_values())
            location.partner_id = partner
            self.runner.audit(
                [
                    {
                        "action": "create",
                        "resource": "businesses",
                        "cliniko_id": location.cliniko_id or False,
                        "res_model": "res.partner",
                        "res_id": partner.id,
                        "message": "partner of the business, author of its communications",
                        "previous_values": False,
                    }
                ]
            )
        return location.partner_id

    def map(self, item):
        record = item.source
        lead = self.patient_lead(item)
        date = self.message_date(record)
        if not date:
            raise MappingError("the message has no creation date")
        type_code = _int(record.get("type_code"))
        activity_type = self._activity_types.get(type_code)
        received = _int(record.get("direction_code")) == RECEIVED
        author = lead.partner_id if received else self._clinic_partner
        is_sms = type_code == SMS_TYPE_CODE
        if is_sms and not self._sms:
            item.message = "SMS kept as a note: the SMS module is not installed"
        values = {
            "message_type": "sms" if is_sms and self._sms else "comment",
            "subtype_id": self._refs["activities"] if activity_type else self._refs["note"],
            "mail_activity_type_id": activity_type.id if activity_type else False,
            "is_internal": True,
            "author_id": self._author(author),
            "date": date,
            "subject": text(record.get("content_subject")) or False,
            "body": render_communication(record, self._tz),
            # A confidential memo: the migration managers only (a memo names no practitioner).
            "cliniko_restricted": bool(record.get("confidential")),
            "cliniko_restricted_user_id": False,
        }
        return {"messages": [self.message_values(item, "patient", lead, values)]}


@register
class PatientFormImporter(HistoryImporter):
    resource = "patient_forms"

    def skip_reason(self, record):
        reason = super().skip_reason(record)
        if not reason and not text(record.get("completed_at")):
            reason = "not completed"
        return reason

    def prepare(self, items):
        super().prepare(items)
        booking_ids = {link_id(item.source.get("booking")) for item in items} - {None}
        self._appointments = self.runner.records("individual_appointments", booking_ids)

    def _practitioner_user(self, record):
        """The user of the practitioner of the form's appointment (its lead's salesperson)."""
        visit = self._appointments.get(link_id(record.get("booking")))
        return visit.user_id if visit is not None and visit._name == "crm.lead" else None

    def map(self, item):
        record = item.source
        lead = self.patient_lead(item)
        date = self.message_date(record)
        if not date:
            raise MappingError("the form has no creation date")
        restricted = bool(record.get("restricted_to_practitioner"))
        user = self._practitioner_user(record) if restricted else None
        values = {
            "message_type": "comment",
            "subtype_id": self._refs["note"],
            "mail_activity_type_id": False,
            "is_internal": True,
            "author_id": self._author(lead.partner_id),
            "date": date,
            "subject": False,
            "body": render_patient_form(record, self._tz),
            # Restricted to its practitioner in Cliniko: that user and the managers only.
            "cliniko_restricted": restricted,
            "cliniko_restricted_user_id": user.id if user else False,
        }
        return {"messages": [self.message_values(item, "patient", lead, values)]}


def _partner_of(record):
    if record._name == "res.partner":
        return record
    return getattr(record, "partner_id", None) or None


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
