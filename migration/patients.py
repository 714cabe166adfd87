"""Cliniko patients -> a ``res.partner`` (the person) and a ``crm.lead`` of kind "patient".

``map_patient`` is the pure mapping rule (no Odoo); ``PatientImporter`` resolves countries and
states, the referring doctor, the insurer and the concession type, writes both records and
audits them. Phone numbers become E.164 using the clinic's country; a number or e-mail that
cannot be read is kept exactly as typed and flagged in the audit line, never dropped.

Everything else on the patient record lands on the lead too (``map_patient_details``): Medicare,
DVA and invoicing details, consents, identity, reminders, and the clinic's custom patient fields,
kept raw (``cliniko_custom_fields``); the lead renders them for people (``render_custom_fields``).

The insurer rule: the patient's "Invoice to" text, else the answer of a custom field whose label
names a health fund or insurer ("Health fund", "Provider", "Insurer"...), is matched against the
names of the migrated third-party-payer contacts: an equal name first (case, spaces and
punctuation aside), else the only payer whose name begins with the other ("Medibank" finds
"Medibank Private"). No match leaves the insurer empty; the text itself is always kept.
"""

import json
import re

from markupsafe import Markup, escape

from odoo.tools import plaintext2html

from .importer import Importer, MappingError, register
from .values import link_id, normalize_email, normalize_phone, parse_date, parse_datetime, text

PHONE_PREFERENCE = ("Mobile", "Home", "Work", "Other", "Fax")

# A new patient lead has no invoice yet: its invoice summaries are given, not computed (a
# query per page saved; the invoices recompute them when they arrive).
NEW_LEAD_SUMMARIES = {
    "cliniko_invoice_count": 0,
    "cliniko_invoiced_total": 0.0,
    "cliniko_invoiced_outstanding": 0.0,
    "cliniko_visit_invoice_number": False,
    "cliniko_visit_invoice_status": False,
    "cliniko_visit_invoice_total": 0.0,
}


# What Odoo would compute for a new patient's partner, given: a salesperson only comes from a
# parent company (a patient has none), and a value given spares ``create()`` building a new
# record per partner to compute it (``user_id`` is precomputed).
NEW_PARTNER_COMPUTED = {"user_id": False}


def new_lead_computed(env):
    """What crm computes for a new patient lead from its partner (a person, no parent company,
    no website) and its salesperson (none): given, those computations are spared. The stage
    date is the transaction's time, as crm sets it."""
    return {
        "partner_name": False,
        "website": False,
        "date_open": False,
        "date_last_stage_update": env.cr.now(),
    }


def map_patient(record, region=None):
    """Map one Cliniko patient to ``{"partner": {...}, "lead": {...}, "address": {...},
    "warnings": [...]}``; raise MappingError when it cannot be migrated."""
    first, last = text(record.get("first_name")), text(record.get("last_name"))
    if not first and not last:
        raise MappingError("the patient has neither a first nor a last name")
    name = " ".join(filter(None, [first, last]))
    warnings = []

    email, email_ok = normalize_email(record.get("email"))
    if not email_ok:
        warnings.append("e-mail address is not valid; kept as typed")

    lines, primary, unparsed = [], None, False
    phones = record.get("patient_phone_numbers") or []
    if not isinstance(phones, list):
        # a malformed list loses the phone numbers, not the whole record and its history
        warnings.append("phone numbers are not a list; not read")
        phones = []
    numbers = sorted(
        (p for p in phones if isinstance(p, dict) and text(p.get("number"))),
        key=lambda phone: _phone_rank(phone.get("phone_type")),
    )
    for phone in numbers:
        number, ok = normalize_phone(phone.get("number"), region)
        kind = text(phone.get("phone_type")) or "Phone"
        if not ok:
            unparsed = True
            warnings.append("%s phone number could not be read; kept as typed" % kind)
        lines.append("%s: %s" % (kind, number))
        primary = primary or number

    notes = text(record.get("notes"))
    street2 = ", ".join(
        filter(None, [text(record.get("address_2")), text(record.get("address_3"))])
    )
    active = not record.get("archived_at")
    try:
        born = parse_date(record.get("date_of_birth"))
    except ValueError:
        # an unreadable birth date costs that date, not the patient and its history
        born = None
        warnings.append("date of birth is not a date; left empty")
    common = {
        "cliniko_date_of_birth": born,
        "cliniko_created_at": parse_datetime(record.get("created_at")),
        "cliniko_updated_at": parse_datetime(record.get("updated_at")),
        "cliniko_patient_id": str(record["id"]),
        "active": active,
    }
    partner = dict(
        common,
        name=name,
        email=email or False,
        phone=primary or False,
        street=text(record.get("address_1")) or False,
        street2=street2 or False,
        city=text(record.get("city")) or False,
        zip=text(record.get("post_code")) or False,
        # The patient's notes are clinical: on the lead only (every user reads partners).
        type="contact",
        is_company=False,
    )
    lead = dict(
        common,
        name=name,
        contact_name=name,
        email_from=email or False,
        phone=primary or False,
        type="opportunity",
        cliniko_lead_kind="patient",
        cliniko_title=text(record.get("title")) or False,
        cliniko_first_name=first or False,
        cliniko_last_name=last or False,
        cliniko_preferred_name=text(record.get("preferred_first_name")) or False,
        cliniko_phone_numbers="\n".join(lines) or False,
        cliniko_phone_unparsed=unparsed,
        description=plaintext2html(notes) if notes else False,
        function=text(record.get("occupation")) or False,
        **map_patient_details(record),
    )
    partner["function"] = lead["function"]
    address = {
        "country_code": (text(record.get("country_code")) or "").upper() or None,
        "country": text(record.get("country")),
        "state": text(record.get("state")),
    }
    return {"partner": partner, "lead": lead, "address": address, "warnings": warnings}


def map_patient_details(record):
    """The lead values of the patient's other fields: insurance, invoicing, consents, custom
    fields... (look-ups such as the referring doctor are resolved by the importer)."""
    custom = record.get("custom_fields") or None
    insurance = insurance_from_custom_fields(custom)
    return {
        "cliniko_medicare_number": text(record.get("medicare")) or False,
        "cliniko_medicare_irn": text(record.get("medicare_reference_number")) or False,
        "cliniko_dva_number": text(record.get("dva_card_number")) or False,
        "cliniko_invoice_to": text(record.get("invoice_default_to")) or False,
        "cliniko_invoice_email": text(record.get("invoice_email")) or False,
        "cliniko_invoice_extra_info": _multiline(record.get("invoice_extra_information")),
        "cliniko_health_fund": insurance["health_fund"] or False,
        "cliniko_policy_number": insurance["policy_number"] or False,
        "cliniko_referral_source": text(record.get("referral_source")) or False,
        "cliniko_custom_fields": custom or False,
        "cliniko_emergency_contact": text(record.get("emergency_contact")) or False,
        "cliniko_gender": text(record.get("gender")) or False,
        "cliniko_gender_identity": text(record.get("gender_identity")) or False,
        "cliniko_sex": text(record.get("sex")) or False,
        "cliniko_pronouns": _pronouns(record.get("pronouns")) or False,
        "cliniko_reminder_type": text(record.get("reminder_type")) or False,
        "cliniko_receives_confirmation_emails": bool(record.get("receives_confirmation_emails")),
        "cliniko_accepted_privacy_policy": _consent(record.get("accepted_privacy_policy")),
        "cliniko_accepted_email_marketing": _consent(record.get("accepted_email_marketing")),
        "cliniko_accepted_sms_marketing": _consent(record.get("accepted_sms_marketing")),
        "cliniko_time_zone": text(record.get("time_zone")) or False,
        "cliniko_old_reference_id": text(record.get("old_reference_id")) or False,
        "cliniko_appointment_notes": _multiline(record.get("appointment_notes")),
    }


def _multiline(value):
    value = text(value)
    return value.replace("\r\n", "\n").replace("\r", "\n") if value else False


def _consent(value):
    """Cliniko's yes / no / not answered (null) consent flags."""
    if value is None or value == "":
        return False
    return "yes" if value else "no"


def _pronouns(value):
    """Pronouns come as text or, in newer API versions, as a form-style answer object."""
    if isinstance(value, dict):
        return text(value.get("answer")) or text(value.get("value"))
    if isinstance(value, list):
        return ", ".join(filter(None, (_pronouns(v) for v in value))) or None
    return text(value)


# -- custom patient fields ------------------------------------------------------------------
HEALTH_FUND_WORDS = ("health fund", "insurer", "insurance company", "provider", "fund")
POLICY_WORDS = ("policy", "member number", "membership number", "member no", "member #")


def custom_field_answer(field):
    """The answer of one custom field as text: the value, or the selected options and the
    'other' value of checkboxes and radio buttons; None when there is no answer."""
    parts = []
    value = field.get("value")
    if isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False)
    if text(value):
        parts.append(text(value))
    for option in field.get("options") or []:
        if option.get("selected"):
            name = text(option.get("name")) or text(option.get("token")) or "?"
            parts.append(name + (" (archived option)" if option.get("archived") else ""))
    other = field.get("other") or {}
    if other.get("selected") or (text(other.get("value")) and not parts):
        parts.append("Other: %s" % (text(other.get("value")) or ""))
    return ", ".join(parts) or None


def _other_or_selected(field):
    """For matching a fund name: the 'other' text alone, else the plain answer."""
    other = field.get("other") or {}
    if other.get("selected") and text(other.get("value")):
        return text(other.get("value"))
    answer = custom_field_answer(field)
    return answer.replace(" (archived option)", "") if answer else None


def iter_custom_fields(custom_fields):
    """Yield ``(section, field)`` for every field of every section."""
    for section in (custom_fields or {}).get("sections") or []:
        for field in section.get("fields") or []:
            yield section, field


def _label(value):
    return re.sub(r"\s+", " ", (text(value) or "").lower())


def insurance_from_custom_fields(custom_fields):
    """``{"health_fund": str|None, "policy_number": str|None}`` picked from custom fields by
    their labels (the field's name, e.g. "Provider", "Health fund", "Policy number")."""
    found = {"health_fund": None, "policy_number": None}
    for section, field in iter_custom_fields(custom_fields):
        label = _label(field.get("name"))
        context = _label(section.get("name"))
        if not found["policy_number"] and any(word in label for word in POLICY_WORDS):
            found["policy_number"] = custom_field_answer(field)
        elif (
            not found["health_fund"]
            and "number" not in label
            and (
                any(word in label for word in HEALTH_FUND_WORDS[:3])
                or (
                    any(word in label for word in HEALTH_FUND_WORDS[3:])
                    and ("insur" in context or "fund" in context or "insur" in label)
                )
            )
        ):
            found["health_fund"] = _other_or_selected(field)
    return found


def render_custom_fields(custom_fields):
    """The custom fields as HTML for people: one table per section, one row per field."""
    sections = (custom_fields or {}).get("sections") or []
    if not sections:
        return ""
    html = []
    for section in sections:
        title = escape(text(section.get("name")) or "Custom fields")
        if section.get("archived"):
            title += Markup(" <small>(archived section)</small>")
        rows = []
        for field in section.get("fields") or []:
            label = escape(text(field.get("name")) or field.get("token") or "?")
            if field.get("archived"):
                label += Markup(" <small>(archived field)</small>")
            answer = custom_field_answer(field)
            cell = (
                Markup("<br/>").join(escape(line) for line in answer.splitlines())
                if answer
                else Markup("&#8212;")
            )
            rows.append(Markup("<tr><th>%s</th><td>%s</td></tr>") % (label, cell))
        html.append(
            Markup('<h5>%s</h5><table class="table table-sm"><tbody>%s</tbody></table>')
            % (title, Markup("").join(rows))
        )
    return str(Markup("").join(html))


def normalize_name(value):
    """A name compared without case, punctuation or repeated spaces."""
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", "", (text(value) or "").lower())).strip()


def match_payer(candidates, payers):
    """The payer partner named by the first candidate text that matches (see module doc).
    ``payers`` is ``{normalized name: partner}``."""
    for candidate in candidates:
        wanted = normalize_name(candidate)
        if not wanted:
            continue
        if wanted in payers:
            return payers[wanted]
        close = [
            partner
            for name, partner in payers.items()
            if name.startswith(wanted + " ") or wanted.startswith(name + " ")
        ]
        if len(close) == 1:
            return close[0]
    return None


def _phone_rank(phone_type):
    try:
        return PHONE_PREFERENCE.index(text(phone_type) or "")
    except ValueError:
        return len(PHONE_PREFERENCE)


@register
class PatientImporter(Importer):
    resource = "patients"
    model = "res.partner"

    def before_resource(self):
        self.concession_types = {
            str(concession["id"]): text(concession.get("name"))
            for concession in self.runner.fetch_all(
                "/concession_types", params=[("q[]", "archived_at:*")]
            )
        }
        self.payers = self._payers()
        self.doctors = {}
        # Read once: the team and stage search of lead_defaults would cost a query a patient.
        self.patient_lead_defaults = self.runner.lead_defaults(kind="patient")
        self._bind_merge_resolutions()

    def _bind_merge_resolutions(self):
        """Patients the admin chose, in the latest pre-migration audit, to merge into the
        contact already in Odoo are bound to that contact before the first page: the run then
        updates it (previous values kept for the rollback) and gives it its patient lead,
        instead of creating a second contact. A rollback removes the binding again."""
        audit = (
            self.env["cliniko.source.audit"]
            .sudo()
            .search(
                [("connection_id", "=", self.runner.connection.id), ("state", "=", "done")],
                order="id desc",
                limit=1,
            )
        )
        concerned = audit.finding_ids.filtered(
            lambda finding: finding.kind == "patient_in_odoo" and finding.resolution == "merge"
        ).record_ids.filtered(lambda record: record.partner_id and record.cliniko_id)
        if not concerned:
            return
        bound = self.binder.to_internal(self.resource, concerned.mapped("cliniko_id"))
        bindings = {}
        for record in concerned:
            if record.cliniko_id not in bound and record.cliniko_id not in bindings:
                bindings[record.cliniko_id] = (record.cliniko_id, record.partner_id, False, None)
        if bindings:
            self.binder.bind_many(self.resource, list(bindings.values()), self.run)
            # An audit line per binding: rolling the run back removes the binding again.
            self.runner.audit(
                [
                    {
                        "resource": self.resource,
                        "cliniko_id": cliniko_id,
                        "res_model": partner._name,
                        "res_id": partner.id,
                        "action": "update",
                        "message": "bound to the contact already in Odoo (audit resolution)",
                        "previous_values": {"values": {}},
                    }
                    for cliniko_id, partner, _updated, _ref in bindings.values()
                ]
            )
            self.run._log(
                "%s patient(s) merged into the contact already in Odoo, as resolved in audit "
                "#%s" % (len(bindings), audit.id)
            )

    def _payers(self):
        """``{normalized name: partner}`` of the third-party payers migrated from contacts."""
        refs = self.binder.Ref.search(
            [
                ("connection_id", "=", self.binder.connection.id),
                ("resource", "=", "contacts"),
                ("res_model", "=", "res.partner"),
            ]
        )
        partners = self.env["res.partner"].search(
            [("id", "in", refs.mapped("res_id")), ("cliniko_contact_type", "=", "payer")],
            order="id",
        )
        payers = {}
        for partner in partners:
            payers.setdefault(normalize_name(partner.name), partner)
        return payers

    def prepare(self, items):
        doctor_ids = {link_id(item.source.get("referring_doctor")) for item in items}
        self.doctors = self.runner.records("contacts", [i for i in doctor_ids if i])

    def skip_reason(self, record):
        merged_into = link_id(record.get("merged_with_patient"))
        if record.get("merged_at") and merged_into:
            return "merged into Cliniko patient %s" % merged_into
        return super().skip_reason(record)

    def map(self, item):
        values = map_patient(item.source, self.runner.region)
        country, state = self.runner.resolve_address(**values["address"])
        for target in ("partner", "lead"):
            values[target]["country_id"] = country.id or False
            values[target]["state_id"] = state.id or False
        values["partner"]["company_id"] = self.runner.connection.company_id.id
        # the whole address on the lead too (given a country, Odoo would not copy the rest)
        for name in ("street", "street2", "city", "zip"):
            if name in values["partner"]:
                values["lead"].setdefault(name, values["partner"][name])
        values["lead"].update(self.patient_lead_defaults)
        values["lead"].update(self._links(item.source, values["warnings"]))
        item.message = "; ".join(values["warnings"])
        return values

    def _links(self, record, warnings):
        """The referring doctor, the insurer and the concession type of the patient."""
        doctor_id = link_id(record.get("referring_doctor"))
        doctor = self.doctors.get(doctor_id) if doctor_id else None
        if doctor_id and not doctor:
            warnings.append("referring doctor (Cliniko contact %s) not migrated" % doctor_id)
        insurance = insurance_from_custom_fields(record.get("custom_fields"))
        insurer = match_payer(
            [record.get("invoice_default_to"), insurance["health_fund"]], self.payers
        )
        concession_id = link_id(record.get("concession_type"))
        concession = None
        if concession_id:
            concession = self.concession_types.get(concession_id)
            if not concession:
                concession = "Cliniko concession type %s" % concession_id
                warnings.append("concession type %s not found in Cliniko" % concession_id)
        return {
            "cliniko_referring_doctor_id": doctor.id if doctor else False,
            "cliniko_insurer_id": insurer.id if insurer else False,
            "cliniko_concession_type": concession or False,
        }

    def create_batch(self, items):
        Partner = self.env["res.partner"]
        Lead = self.env["crm.lead"]
        partners = Partner.create(
            [dict(item.values["partner"], **NEW_PARTNER_COMPUTED) for item in items]
        )
        computed = dict(NEW_LEAD_SUMMARIES, **new_lead_computed(self.env))
        leads = Lead.create(
            [
                dict(item.values["lead"], partner_id=partner.id, **computed)
                for item, partner in zip(items, partners, strict=True)
            ]
        )
        for item, partner, lead in zip(items, partners, leads, strict=True):
            item.wrote(partner, item.values["partner"])
            item.wrote(lead, item.values["lead"])
            item.target = partner
            item.audit("create", partner)
            item.audit("create", lead)

    def update_one(self, item, partner):
        values = item.values
        changed = self._write(item, partner, values["partner"])
        lead = self.env["crm.lead"]._cliniko_patient_leads(partner).get(partner.id)
        lead_values = dict(values["lead"], partner_id=partner.id)
        if lead:
            for name in self.graph_resource.create_only_fields("crm.lead"):
                lead_values.pop(name, None)
            changed = self._write(item, lead, lead_values) or changed
        else:
            lead = self.env["crm.lead"].create(lead_values)
            item.audit("create", lead, "patient lead was missing; created again")
            changed = True
        return changed

    def _write(self, item, record, values):
        return self.write_changes(item, record, values)
