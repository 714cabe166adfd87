"""The pre-migration audit: what in the Cliniko account will need a person's attention.

``SourceAudit(env, client, settings).run()`` reads the account through the client, page by page,
and returns the findings as ``{kind: [Concern, ...]}``. It never holds a resource in memory:
per patient it keeps only compact keys (id, name, normalised e-mail and phones, name + date of
birth) and, for the appointments, the set of patients seen with a practitioner.

1. Patients (archived ones too; deleted and merged-away ones are not migrated and are left
   out): e-mails and phones that cannot be read (the migration's own normalisers), a Medicare
   number without its IRN (or the reverse), and patients an Odoo contact already has the
   e-mail or phone of (one query per page). Duplicates by e-mail, by phone and by name + date
   of birth are gathered from the compact keys once every page is read.
2. Individual appointments and group attendances: appointments whose patient Cliniko no longer
   has (orphans), and which patients ever saw a practitioner.
3. Treatment notes longer than the threshold; attachments larger than the size cap.
4. Practitioners (active and inactive) that match no Odoo user by e-mail, by the very rule the
   migration applies (``migration.practitioners``).
"""

from collections import defaultdict
from dataclasses import dataclass

from ..cliniko_api import ClinikoPermissionError
from . import graph
from .practitioners import match_user, practitioner_email, practitioner_name, users_by_email
from .rendering import content_text
from .values import link_id, normalize_email, normalize_phone, text

KINDS = [
    ("duplicate_email", "Duplicate patients (same e-mail)"),
    ("duplicate_phone", "Duplicate patients (same phone number)"),
    ("duplicate_name_dob", "Duplicate patients (same name and date of birth)"),
    ("orphan_appointment", "Appointments whose patient is missing"),
    ("patient_no_practitioner", "Patients who never saw a practitioner"),
    ("long_treatment_note", "Treatment notes over the length threshold"),
    ("incomplete_insurance", "Incomplete insurance data"),
    ("unparseable_phone", "Phone numbers that cannot be read"),
    ("unparseable_email", "E-mail addresses that cannot be read"),
    ("large_attachment", "Files over the size cap"),
    ("practitioner_no_user", "Practitioners with no Odoo user"),
    ("patient_in_odoo", "Patients already in Odoo"),
]
KIND_LABELS = dict(KINDS)

PAGE_SIZE = 100


@dataclass
class Concern:
    """One record a finding is about."""

    cliniko_id: str
    name: str
    detail: str = ""
    partner_id: int = 0
    group_key: str = ""


@dataclass
class Settings:
    note_length_threshold: int = 20000
    attachment_size_cap: int = 25 * 1024 * 1024
    region: str = None


def _name(record):
    return " ".join(
        filter(None, [text(record.get("first_name")), text(record.get("last_name"))])
    ) or text(record.get("label") or "")


def _name_key(name):
    return " ".join((name or "").casefold().split())


class SourceAudit:
    def __init__(self, env, client, settings=None):
        self.env = env
        self.client = client
        self.settings = settings or Settings()
        self.findings = defaultdict(list)
        self.refused = []
        # compact per-patient keys
        self.names = {}
        self.by_email = defaultdict(list)
        self.by_phone = defaultdict(list)
        self.by_name_dob = defaultdict(list)
        self.with_practitioner = set()
        self.merged = set()
        self.patients_seen = 0

    # -- reading -----------------------------------------------------------------------------
    def pages(self, resource, path=None):
        params = [("q[]", condition) for condition in graph.get(resource).list_filters]
        params.append(("sort", "created_at:asc"))
        for page in self.client.iter_pages(path or "/" + resource, params, per_page=PAGE_SIZE):
            yield page.get(resource) or []

    def run(self):
        """Read the account and return ``{kind: [Concern, ...]}`` (kinds with no concern
        absent). A resource the key may not read is listed in ``self.refused``."""
        steps = (
            ("patients", self._patients),
            ("individual_appointments", self._appointments),
            ("attendees", self._attendees),
            ("treatment_notes", self._treatment_notes),
            ("patient_attachments", self._attachments),
            ("practitioners", self._practitioners),
        )
        for resource, step in steps:
            try:
                step()
            except ClinikoPermissionError:
                self.refused.append(resource)
        if "patients" not in self.refused:
            self._duplicates()
            if not {"individual_appointments", "attendees"} & set(self.refused):
                self._without_practitioner()
        return dict(self.findings)

    def add(self, kind, *concerns):
        self.findings[kind].extend(concerns)

    # -- patients ----------------------------------------------------------------------------
    def _patients(self):
        for records in self.pages("patients"):
            page = []
            for record in records:
                if record.get("deleted_at") or not record.get("id"):
                    continue
                pid = str(record["id"])
                name = _name(record) or "Cliniko patient %s" % pid
                self.names[pid] = name
                if record.get("merged_at"):
                    self.merged.add(pid)  # merged away in Cliniko: not migrated
                    continue
                self.patients_seen += 1
                page.append(self._patient(pid, name, record))
            self._already_in_odoo(page)

    def _patient(self, pid, name, record):
        """Check one patient; return ``(pid, name, e-mail, phones)`` for the Odoo look-up."""
        email, ok = normalize_email(record.get("email"))
        if not ok:
            self.add("unparseable_email", Concern(pid, name, email))
        elif email:
            self.by_email[email].append(pid)
        phones = []
        for phone in record.get("patient_phone_numbers") or []:
            number, ok = normalize_phone(phone.get("number"), self.settings.region)
            if number is None:
                continue
            if not ok:
                kind = text(phone.get("phone_type")) or "Phone"
                self.add("unparseable_phone", Concern(pid, name, "%s: %s" % (kind, number)))
            elif number not in phones:
                phones.append(number)
                self.by_phone[number].append(pid)
        dob = text(record.get("date_of_birth"))
        if dob and name:
            self.by_name_dob[(_name_key(name), dob)].append(pid)
        medicare = text(record.get("medicare"))
        irn = text(record.get("medicare_reference_number"))
        if medicare and not irn:
            self.add(
                "incomplete_insurance",
                Concern(pid, name, "Medicare number %s has no IRN" % medicare),
            )
        elif irn and not medicare:
            self.add(
                "incomplete_insurance", Concern(pid, name, "IRN %s without a Medicare number" % irn)
            )
        return pid, name, email if ok else None, phones

    def _already_in_odoo(self, page):
        """Patients of a page whose e-mail or phone an Odoo contact (not migrated from
        Cliniko) already has: one query for the page."""
        emails = [email for _pid, _name, email, _phones in page if email]
        phones = [phone for *_rest, numbers in page for phone in numbers]
        if not emails and not phones:
            return
        domain = []
        if emails:
            domain = [("email_normalized", "in", emails)]
        if phones:
            domain = (
                ["|", *domain, ("phone_sanitized", "in", phones)]
                if domain
                else [("phone_sanitized", "in", phones)]
            )
        partners = self.env["res.partner"].search(
            [("cliniko_patient_id", "=", False), *domain], order="id"
        )
        by_email, by_phone = {}, {}
        for partner in partners:
            if partner.email_normalized:
                by_email.setdefault(partner.email_normalized, partner)
            if partner.phone_sanitized:
                by_phone.setdefault(partner.phone_sanitized, partner)
        for pid, name, email, numbers in page:
            partner, how = by_email.get(email), "e-mail"
            if not partner:
                partner = next((by_phone[n] for n in numbers if n in by_phone), None)
                how = "phone"
            if partner:
                self.add(
                    "patient_in_odoo",
                    Concern(
                        pid,
                        name,
                        "same %s as %s" % (how, partner.display_name),
                        partner_id=partner.id,
                    ),
                )

    def _duplicates(self):
        for kind, groups, label in (
            ("duplicate_email", self.by_email, lambda key: key),
            ("duplicate_phone", self.by_phone, lambda key: key),
            ("duplicate_name_dob", self.by_name_dob, lambda key: "%s, born %s" % key),
        ):
            for key, ids in groups.items():
                if len(ids) > 1:
                    self.add(
                        kind,
                        *(
                            Concern(pid, self.names[pid], label(key), group_key=label(key))
                            for pid in ids
                        ),
                    )

    # -- appointments ------------------------------------------------------------------------
    def _appointments(self):
        for records in self.pages("individual_appointments"):
            for record in records:
                if record.get("deleted_at"):
                    continue
                pid = link_id(record.get("patient"))
                if pid and pid not in self.names:
                    self.add(
                        "orphan_appointment",
                        Concern(
                            str(record["id"]),
                            text(record.get("patient_name")) or "?",
                            "patient %s is not in Cliniko (appointment of %s)"
                            % (pid, (text(record.get("starts_at")) or "")[:10]),
                        ),
                    )
                elif pid and link_id(record.get("practitioner")):
                    self.with_practitioner.add(pid)

    def _attendees(self):
        """A group appointment always has its practitioner: an attendee has seen one."""
        for records in self.pages("attendees"):
            for record in records:
                pid = link_id(record.get("patient"))
                if pid and not record.get("deleted_at"):
                    self.with_practitioner.add(pid)

    def _without_practitioner(self):
        for pid, name in self.names.items():
            if pid not in self.with_practitioner and pid not in self.merged:
                self.add(
                    "patient_no_practitioner",
                    Concern(pid, name, "no appointment with a practitioner"),
                )

    # -- notes and files ---------------------------------------------------------------------
    def _treatment_notes(self):
        limit = self.settings.note_length_threshold
        for records in self.pages("treatment_notes"):
            for record in records:
                if record.get("deleted_at"):
                    continue
                length = len(content_text(record.get("content")))
                if limit and length > limit:
                    pid = link_id(record.get("patient"))
                    title = text(record.get("title")) or "Treatment note"
                    self.add(
                        "long_treatment_note",
                        Concern(
                            str(record["id"]),
                            "%s (%s)" % (title, self.names.get(pid, "patient %s" % pid)),
                            "%s characters" % length,
                        ),
                    )

    def _attachments(self):
        cap = self.settings.attachment_size_cap
        for records in self.pages("patient_attachments"):
            for record in records:
                size = record.get("size") or 0
                if record.get("deleted_at") or not cap or size <= cap:
                    continue
                pid = link_id(record.get("patient"))
                self.add(
                    "large_attachment",
                    Concern(
                        str(record["id"]),
                        "%s (%s)"
                        % (
                            text(record.get("filename")) or "file",
                            self.names.get(pid, "patient %s" % pid),
                        ),
                        "%.1f MB" % (size / 1024 / 1024),
                    ),
                )

    # -- practitioners -----------------------------------------------------------------------
    def _practitioners(self):
        users = {
            str(user.get("id")): user
            for user in self.client.iter_records("/users", per_page=PAGE_SIZE)
        }
        Users = self.env["res.users"].sudo()
        for path in ("/practitioners", "/practitioners/inactive"):
            for page in self.client.iter_pages(path, per_page=PAGE_SIZE):
                records = page.get("practitioners") or []
                emails = {str(r["id"]): practitioner_email(users, r) for r in records}
                found = users_by_email(Users, [email for email, _raw, _why in emails.values()])
                for record in records:
                    email, raw, why = emails[str(record["id"])]
                    matches = found[email] if email else Users.browse()
                    eligible, why = match_user(matches, why)
                    if len(eligible) != 1:
                        self.add(
                            "practitioner_no_user",
                            Concern(
                                str(record["id"]),
                                practitioner_name(record),
                                "%s%s" % (why, " (%s)" % raw if raw else ""),
                            ),
                        )
