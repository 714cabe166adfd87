"""Cliniko records that become part of the patient's lead: medical alerts, patient cases and
the referral source.

None of them gets an Odoo record of its own: each is bound to the patient's lead and written
into fields of it (``LeadDetailImporter``). Every write is audited as an ``update`` of the lead
with the values it had before, record after record, so that rolling back (newest first) gives
the lead back exactly what it held; the binding a run creates is audited too, so the rollback
removes it. A record whose patient was not migrated fails with that reason; deleted medical
alerts are counted and skipped.

* Medical alerts -> ``cliniko_medical_alerts`` (one line per alert, shown as a red banner at
  the top of the lead form), backed by ``cliniko_medical_alert_data`` ({alert id: name,
  created, archived}).
  Lines people typed into the field in Odoo are kept below the migrated ones; an archived
  alert is kept in the data but not shown.
* Patient cases -> ``cliniko_patient_case_data`` ({case id: details}), shown on the lead as a
  readable table (``cliniko_patient_cases``: name, referral type, sessions, expiry, closed,
  contact...).
* Referral sources (one per patient) -> ``cliniko_referral_detail`` (type, subcategory,
  referrer, notes) and ``cliniko_referrer_id`` (the referring patient's or contact's partner).
"""

import copy

from markupsafe import Markup, escape

from .importer import Importer, MappingError, register
from .snapshots import restore_values, snapshot
from .values import link_id, parse_date, parse_datetime, text

REFERRAL_TYPES = {"medicare": "Medicare", "dva": "DVA"}


class ListsDeletedToo:
    """Mixin: after the normal list, read the legacy ``/<resource>/deleted`` list so deleted
    records are fetched and counted as skipped rather than never seen. When Cliniko no longer
    serves that list, the run log says so and the run goes on.

    A record migrated by an earlier run and deleted in Cliniko since is still skipped, and what
    it became is put out of sight (``forget``: archived, or taken off the lead), audited with
    the previous values so a rollback brings it back."""

    def import_page(self, records):
        items = super().import_page(records)
        deleted = [
            item for item in items if item.action == "skip" and item.source.get("deleted_at")
        ]
        refs = self.binder.to_internal(self.resource, [item.cliniko_id for item in deleted])
        lines = []
        for item in deleted:
            record = self.binder.record(refs[item.cliniko_id]) if item.cliniko_id in refs else None
            if record:
                item.audits.clear()
                self.forget(item, record)
                lines += [self._audit_values(item, *audit) for audit in item.audits]
        self.runner.audit(lines)
        return items

    def forget(self, item, record):
        """Archive what a record deleted in Cliniko became (audit with ``item.audit``)."""
        if "active" in record._fields and record.active:
            previous = snapshot(record, ["active"])
            record.write({"active": False})
            item.audit("update", record, "archived: deleted in Cliniko since", {"values": previous})

    def lists(self):
        return [*super().lists(), ("/%s/deleted" % self.resource, [])]

    def list_records(self, path, records):
        if path.endswith("/deleted"):
            for record in records:
                record["deleted_at"] = record.get("deleted_at") or "listed as deleted"
        return records

    def optional_list(self, path, error):
        self.run._log(
            "%s: Cliniko does not list deleted ones (%s); they are not counted"
            % (self.graph_resource.label, error)
        )
        return True


class LeadDetailImporter(Importer):
    """Base of the resources kept as fields of the patient's lead (see the module doc).

    Subclasses name the lead ``fields`` they write, build an ``entry`` per record and
    ``apply`` it to the lead's values."""

    model = "crm.lead"
    fields = ()

    def prepare(self, items):
        patient_ids = {link_id(item.source.get("patient")) for item in items}
        partners = self.runner.records("patients", [pid for pid in patient_ids if pid])
        leads = self.env["crm.lead"]._cliniko_patient_leads(
            self.env["res.partner"].union(*partners.values())
        )
        self.leads = {pid: leads.get(partner.id) for pid, partner in partners.items()}

    def map(self, item):
        patient_id = link_id(item.source.get("patient"))
        if not patient_id:
            raise MappingError("the record has no patient")
        lead = self.leads.get(patient_id)
        if not lead:
            raise MappingError("patient %s is not migrated" % patient_id)
        return {"lead": lead, "entry": self.entry(item)}

    def entry(self, item):
        """What this record contributes to the lead (JSON-safe)."""
        raise NotImplementedError

    def apply(self, values, item, remove=False):
        """Return the lead ``values`` (a snapshot of ``fields``) with ``item`` applied, or,
        with ``remove``, taken out."""
        raise NotImplementedError

    def create_batch(self, items):
        self._write_leads(items)

    def update_one(self, item, main):
        changed = False
        if main._name == "crm.lead" and main != item.values["lead"]:
            # The record moved to another patient (patients merged in Cliniko).
            changed = self._write_leads([item], lead=main, remove=True)
        return self._write_leads([item]) or changed

    def _update(self, item, main):
        super()._update(item, main)
        # Bind to the lead the record belongs to now (the template keeps the old one).
        if item.action == "update":
            item.target = item.values["lead"]

    def _write_leads(self, items, lead=None, remove=False):
        """Apply the items lead by lead (their patient's, or ``lead``), in order: one audited
        step per item, one write per lead. Returns True when a lead changed."""
        by_lead = {}
        for item in items:
            by_lead.setdefault(lead or item.values["lead"], []).append(item)
        changed = False
        for target, lead_items in by_lead.items():
            start = snapshot(target, self.fields)
            values = copy.deepcopy(start)
            for item in lead_items:
                if not remove:
                    item.target = target
                new_values = self.apply(copy.deepcopy(values), item, remove=remove)
                diff = [name for name in self.fields if new_values[name] != values[name]]
                if diff:
                    previous = {name: values[name] for name in diff}
                    item.audit("update", target, "", {"values": previous})
                values = new_values
            diff = {name: values[name] for name in self.fields if values[name] != start[name]}
            if diff:
                target.write(restore_values(target, diff))
                changed = True
        return changed

    def import_page(self, records):
        items = super().import_page(records)
        # The bindings created for this page point at the patient's lead, which the run did not
        # create: audit them as created so the rollback removes them.
        new = [
            item.cliniko_id
            for item in items
            if item.action in ("create", "update") and not item.ref and item.target
        ]
        refs = self.binder.to_internal(self.resource, new)
        self.runner.audit(
            [
                {
                    "action": "create",
                    "resource": self.resource,
                    "cliniko_id": cliniko_id,
                    "res_model": ref._name,
                    "res_id": ref.id,
                    "message": "binding to the patient's lead",
                }
                for cliniko_id, ref in refs.items()
            ]
        )
        return items


@register
class MedicalAlertImporter(ListsDeletedToo, LeadDetailImporter):
    resource = "medical_alerts"
    fields = ("cliniko_medical_alert_data", "cliniko_medical_alerts")

    def forget(self, item, lead):
        self._write_leads([item], lead=lead, remove=True)

    def entry(self, item):
        name = text(item.source.get("name"))
        if not name:
            raise MappingError("the medical alert has no text")
        archived = bool(item.source.get("archived_at"))
        if archived:
            _note(item, "archived in Cliniko: kept, not shown in the banner")
        return {
            "name": name,
            "created_at": text(item.source.get("created_at")) or "",
            "archived": archived,
        }

    def apply(self, values, item, remove=False):
        data = values["cliniko_medical_alert_data"] or {}
        before = alert_lines(data)
        if remove:
            data.pop(item.cliniko_id, None)
        else:
            data[item.cliniko_id] = item.values["entry"]
        typed = [
            line
            for line in (values["cliniko_medical_alerts"] or "").splitlines()
            if line.strip() and line not in before
        ]
        values["cliniko_medical_alert_data"] = data or False
        values["cliniko_medical_alerts"] = "\n".join(alert_lines(data) + typed) or False
        return values


def alert_lines(data):
    """The banner lines of the migrated alerts that are not archived, oldest first."""
    ordered = sorted(data.items(), key=lambda pair: (pair[1].get("created_at") or "", pair[0]))
    return [entry["name"] for _cliniko_id, entry in ordered if not entry.get("archived")]


@register
class PatientCaseImporter(LeadDetailImporter):
    resource = "patient_cases"
    fields = ("cliniko_patient_case_data",)

    def prepare(self, items):
        super().prepare(items)
        contact_ids = {link_id(item.source.get("contact")) for item in items}
        self.contacts = self.runner.records("contacts", [cid for cid in contact_ids if cid])

    def entry(self, item):
        record = item.source
        name = text(record.get("name")) or "Patient case %s" % item.cliniko_id
        contact_id = link_id(record.get("contact"))
        contact = self.contacts.get(contact_id) if contact_id else None
        contact_name = contact.name if contact else None
        if contact_id and not contact:
            contact_name = "Cliniko contact %s (not migrated)" % contact_id
            _note(item, "contact %s not migrated; named only" % contact_id)
        referral_type = text(record.get("referral_type"))
        return {
            "name": name,
            "referral": bool(record.get("referral")),
            "referral_type": REFERRAL_TYPES.get(referral_type, referral_type),
            "issue_date": _date(record.get("issue_date")),
            "expiry_date": _date(record.get("expiry_date")),
            "max_sessions": record.get("max_sessions"),
            "max_invoiceable_amount": text(record.get("max_invoiceable_amount")),
            "closed": bool(record.get("closed")),
            "closed_at": text(record.get("closed_at")),
            "contact": contact_name,
            "contact_partner_id": contact.id if contact else None,
            "notes": text(record.get("notes")),
            "attendees": len(record.get("attendee_ids") or []),
            "include_cancelled_attendees": record.get("include_cancelled_attendees"),
            "include_dna_attendees": record.get("include_dna_attendees"),
            "archived": bool(record.get("archived_at")),
            "created_at": text(record.get("created_at")) or "",
        }

    def apply(self, values, item, remove=False):
        data = values["cliniko_patient_case_data"] or {}
        if remove:
            data.pop(item.cliniko_id, None)
        else:
            data[item.cliniko_id] = item.values["entry"]
        values["cliniko_patient_case_data"] = data or False
        return values


def _note(item, message):
    """Add a remark to the record's audit line."""
    item.message = "; ".join(filter(None, [item.message, message]))


def _date(value):
    parsed = parse_date(value)
    return parsed.isoformat() if parsed else None


CASE_COLUMNS = (
    "Case",
    "Referral",
    "Issued",
    "Expires",
    "Max sessions",
    "Max amount",
    "Visits",
    "Closed",
    "Contact",
    "Notes",
)


def render_patient_cases(data):
    """The patient's cases as an HTML table, oldest first."""
    rows = []
    ordered = sorted(data.items(), key=lambda pair: (pair[1].get("created_at") or "", pair[0]))
    for _cliniko_id, case in ordered:
        referral = (case.get("referral_type") or "Yes") if case.get("referral") else "No"
        closed = "No"
        if case.get("closed"):
            closed_at = parse_datetime(case.get("closed_at"))
            closed = "Yes, %s" % closed_at.date().isoformat() if closed_at else "Yes"
        name = case.get("name") or ""
        if case.get("archived"):
            name += " (archived)"
        cells = (
            name,
            referral,
            case.get("issue_date"),
            case.get("expiry_date"),
            case.get("max_sessions"),
            case.get("max_invoiceable_amount"),
            case.get("attendees"),
            closed,
            case.get("contact"),
            case.get("notes"),
        )
        rows.append(
            Markup("<tr>%s</tr>")
            % Markup("").join(
                Markup("<td>%s</td>") % escape("" if cell is None else cell) for cell in cells
            )
        )
    if not rows:
        return False
    head = Markup("").join(Markup("<th>%s</th>") % column for column in CASE_COLUMNS)
    return str(
        Markup('<table class="table table-sm"><thead><tr>%s</tr></thead><tbody>%s</tbody></table>')
        % (head, Markup("").join(rows))
    )


@register
class ReferralSourceImporter(LeadDetailImporter):
    resource = "referral_sources"
    fields = ("cliniko_referral_detail", "cliniko_referrer_id")

    def pages(self):
        for records in super().pages():
            for record in records:
                # Older API versions serve the referral source without an id of its own: it is
                # one per patient, so the patient's id stands for it.
                if not record.get("id") and link_id(record.get("patient")):
                    record["id"] = "patient-%s" % link_id(record.get("patient"))
            yield records

    def before_resource(self):
        self.source_types = {
            str(kind["id"]): text(kind.get("name"))
            for kind in self.runner.fetch_all(
                "/referral_source_types", params=[("q[]", "archived_at:*")]
            )
        }

    def prepare(self, items):
        super().prepare(items)
        wanted = {"Patient": set(), "Contact": set()}
        for item in items:
            kind = text(item.source.get("referrer_type"))
            referrer_id = link_id(item.source.get("referrer"))
            if kind in wanted and referrer_id:
                wanted[kind].add(referrer_id)
        self.referrers = {
            "Patient": self.runner.records("patients", list(wanted["Patient"])),
            "Contact": self.runner.records("contacts", list(wanted["Contact"])),
        }

    def entry(self, item):
        record = item.source
        type_id = link_id(record.get("referral_source_type"))
        type_name = self.source_types.get(type_id) if type_id else None
        if type_id and not type_name:
            type_name = "Cliniko referral source type %s" % type_id
        kind = text(record.get("referrer_type"))
        referrer_id = link_id(record.get("referrer"))
        referrer = self.referrers.get(kind, {}).get(referrer_id) if referrer_id else None
        referrer_name = referrer.name if referrer else None
        if referrer_id and not referrer:
            referrer_name = "Cliniko %s %s (not migrated)" % (
                (kind or "record").lower(),
                referrer_id,
            )
            _note(item, "referrer %s %s not migrated; named only" % (kind, referrer_id))
        first = " — ".join(
            filter(
                None,
                [
                    type_name or "Referral",
                    text(record.get("subcategory")),
                    "referred by %s" % referrer_name if referrer_name else None,
                ],
            )
        )
        notes = text(record.get("notes"))
        return {
            "text": "\n".join(filter(None, [first, notes])),
            "referrer_partner_id": referrer.id if referrer else False,
        }

    def apply(self, values, item, remove=False):
        entry = {"text": False, "referrer_partner_id": False} if remove else item.values["entry"]
        values["cliniko_referral_detail"] = entry["text"] or False
        values["cliniko_referrer_id"] = entry["referrer_partner_id"]
        return values
