"""A Data Export run: Cliniko's patients CSV through the same importer as the API.

``ExportRunner`` is a ``MigrationRunner`` whose pages come from the run's files instead of the
API: the same binder (``cliniko.external.ref``), audit lines, counters, silent context,
commits per page, rollback and conflict safety. ``ExportPatientImporter`` is the API's
``PatientImporter`` with three differences, because a file holds part of a patient:

* a row whose patient is bound already (an API run, or an earlier file) *enriches* it: only
  the fields the file carries are written (the map's targets), plus what only the file has:
  the account credit (a monetary field of the lead, in the company's currency, as of the
  file's date) and the last and next appointment dates. When the API knows a newer version
  of the patient than the row (its ``updated_at``), only the file-only fields are written;
* the last and next appointment dates are kept only for a patient none of whose appointments
  were migrated from the API; for one whose were, they are left empty (emptied, if an earlier
  file wrote them): the appointment leads say when the visits are (and a delta keeps them
  current), and a file's dates, true on the day it was downloaded, would contradict them;
* nothing is "up to date" by timestamp: a row is compared field by field, so a re-import
  changes nothing and the credit of an unchanged patient still arrives;
* a patient the file creates is bound with no ``source_updated_at``, so the next API run or
  delta reads it in full and fills in what only the API has (see ``exports.API_ONLY``).

Rows that cannot be read (ragged, not UTF-8, an id that is not a number, a date that fits
neither order, the same id twice) fail one by one with their row number, in the audit and the
counters; the rest go on.
"""

import time

from odoo import fields
from odoo.exceptions import UserError

from . import exports
from .importer import Item
from .patients import PatientImporter
from .runner import MigrationRunner
from .values import parse_datetime

# Record key of the file -> (partner fields, lead fields) it decides (see ``map_patient``).
KEY_FIELDS = {
    "id": (("cliniko_patient_id",), ("cliniko_patient_id",)),
    "first_name": (("name",), ("name", "contact_name", "cliniko_first_name")),
    "last_name": (("name",), ("name", "contact_name", "cliniko_last_name")),
    "title": ((), ("cliniko_title",)),
    "preferred_first_name": ((), ("cliniko_preferred_name",)),
    "email": (("email",), ("email_from",)),
    "patient_phone_numbers": (
        ("phone",),
        ("phone", "cliniko_phone_numbers", "cliniko_phone_unparsed"),
    ),
    "date_of_birth": (("cliniko_date_of_birth",), ("cliniko_date_of_birth",)),
    "created_at": (("cliniko_created_at",), ("cliniko_created_at",)),
    "updated_at": (("cliniko_updated_at",), ("cliniko_updated_at",)),
    "archived_at": (("active",), ("active",)),
    "address_1": (("street",), ()),
    "address_2": (("street2",), ()),
    "address_3": (("street2",), ()),
    "city": (("city",), ()),
    "post_code": (("zip",), ()),
    "country": (("country_id",), ("country_id",)),
    "state": (("state_id",), ("state_id",)),
    "notes": (("comment",), ("description",)),
    "occupation": (("function",), ("function",)),
    "medicare": ((), ("cliniko_medicare_number",)),
    "medicare_reference_number": ((), ("cliniko_medicare_irn",)),
    "dva_card_number": ((), ("cliniko_dva_number",)),
    "invoice_default_to": ((), ("cliniko_invoice_to",)),
    "invoice_email": ((), ("cliniko_invoice_email",)),
    "invoice_extra_information": ((), ("cliniko_invoice_extra_info",)),
    "referral_source": ((), ("cliniko_referral_source",)),
    "emergency_contact": ((), ("cliniko_emergency_contact",)),
    "gender": ((), ("cliniko_gender",)),
    "gender_identity": ((), ("cliniko_gender_identity",)),
    "sex": ((), ("cliniko_sex",)),
    "pronouns": ((), ("cliniko_pronouns",)),
    "reminder_type": ((), ("cliniko_reminder_type",)),
    "time_zone": ((), ("cliniko_time_zone",)),
    "old_reference_id": ((), ("cliniko_old_reference_id",)),
    "appointment_notes": ((), ("cliniko_appointment_notes",)),
    "custom_fields": ((), ("cliniko_custom_fields",)),
}
FILE_ONLY_FIELDS = {
    "account_credit": ("cliniko_account_credit", "cliniko_account_credit_date"),
    "last_appointment": ("cliniko_last_appointment_date",),
    "next_appointment": ("cliniko_next_appointment_date",),
}


class ExportPatientImporter(PatientImporter):
    """The patient importer, fed from a Data Export file (see the module doc)."""

    present = frozenset()
    file_date = None
    with_appointments = frozenset()

    def _up_to_date(self, item):
        return False  # compared field by field instead (the file's credit is not timestamped)

    def import_rows(self, export, results, column_map):
        """Import one page of a file's rows: ``results`` from ``exports.to_records``."""
        self.present = frozenset(exports.present_keys(column_map))
        self.file_date = export.file_date
        failed, records, seen = [], [], {}
        for number, parsed, why in results:
            record, reason = parsed, why
            if record is not None and record["id"] in seen:
                record, reason = None, "Patient ID also on row %s" % seen[record["id"]]
            if record is None:
                item = Item({"id": ""})
                item.done("fail", "%s, row %s: %s" % (export.name, number, reason))
                failed.append(item)
                continue
            seen[record["id"]] = number
            records.append(record)
        self.with_appointments = self._patients_with_appointments([r["id"] for r in records])
        items = self.import_page(records) if records else []
        if failed:
            self._finish(failed)
        stats = self.runner.export_stats
        stats["rows"] += len(results)
        stats["failed"] += len(failed)
        for item in items:
            if item.action == "fail":
                stats["failed"] += 1
            elif item.action == "create":
                stats["created"] += 1
            else:  # bound already: an update enriched it, a skip found nothing new
                stats["matched"] += 1
                stats["enriched" if item.action == "update" else "unchanged"] += 1
            if item.action != "fail" and (item.source.get("account_credit") or 0) > 0:
                stats["with_credit"] += 1
        return failed + items

    def map(self, item):
        values = super().map(item)
        record = item.source
        file_only = {}
        if "account_credit" in self.present:
            file_only["cliniko_account_credit"] = record.get("account_credit") or 0.0
            file_only["cliniko_account_credit_date"] = self.file_date or False
        api_visits = record["id"] in self.with_appointments  # their leads tell the dates
        if "last_appointment" in self.present:
            last = not api_visits and record.get("last_appointment")
            file_only["cliniko_last_appointment_date"] = last or False
        if "next_appointment" in self.present:
            following = not api_visits and record.get("next_appointment")
            file_only["cliniko_next_appointment_date"] = following or False
        values["lead"].update(file_only)
        row_updated = parse_datetime(record.get("updated_at"))
        if item.ref:
            known = item.ref.source_updated_at
            # The API's version of the patient is this one or newer: it holds everything the
            # row does (and more: phone types the file has no column for...), so the row only
            # adds what the API does not have.
            api_is_current = bool(known and (not row_updated or row_updated <= known))
            keys = self.present & {"custom_fields"} if api_is_current else self.present
            partner_fields = {name for key in keys for name in KEY_FIELDS.get(key, ((), ()))[0]}
            lead_fields = {name for key in keys for name in KEY_FIELDS.get(key, ((), ()))[1]}
            lead_fields |= set(file_only)
            values["partner"] = {k: v for k, v in values["partner"].items() if k in partner_fields}
            values["lead"] = {k: v for k, v in values["lead"].items() if k in lead_fields}
            if "cliniko_custom_fields" in values["lead"]:
                values["lead"]["cliniko_custom_fields"] = self._merged_custom(
                    item, values["lead"]["cliniko_custom_fields"]
                )
            if api_is_current and row_updated and row_updated < known:
                item.message = "; ".join(
                    filter(None, [item.message, "the API's version is newer than the file's"])
                )
            # the binding keeps what the API knew: an API run after the file still compares
            item.updated_at = known
        else:
            item.updated_at = None  # bound without a version: the next API run reads it whole
        return values

    def _patients_with_appointments(self, patient_ids):
        """The ids among ``patient_ids`` with an appointment lead of this connection (one
        migrated from the API: a file creates none), cancelled and archived ones included."""
        if not patient_ids:
            return frozenset()
        leads = (
            self.env["crm.lead"]
            .with_context(active_test=False)
            .search_fetch(
                [
                    ("cliniko_connection_id", "=", self.runner.connection.id),
                    ("cliniko_lead_kind", "=", "appointment"),
                    ("cliniko_patient_id", "in", patient_ids),
                ],
                ["cliniko_patient_id"],
            )
        )
        return frozenset(leads.mapped("cliniko_patient_id"))

    def _merged_custom(self, item, from_file):
        """The lead's custom fields with the file's section put in (the API's sections kept)."""
        partner = self.binder.record(item.ref)
        lead = self.env["crm.lead"]._cliniko_patient_leads(partner).get(partner.id)
        current = (lead.cliniko_custom_fields if lead else None) or {}
        sections = [
            section
            for section in current.get("sections") or []
            if section.get("name") != exports.CUSTOM_SECTION
        ]
        sections.extend((from_file or {}).get("sections") or [])
        return dict(current, sections=sections) if sections else False


class ExportRunner(MigrationRunner):
    """Carries out a Data Export run (``run_type = 'export'``) from the run's files."""

    def __init__(self, run, client=None, max_pages=None):
        super().__init__(run, client=client, max_pages=max_pages)
        self.export_stats = dict.fromkeys(
            ("rows", "matched", "enriched", "unchanged", "created", "failed", "with_credit"), 0
        )
        self.export_stats.update(run.export_stats or {})

    def fetch_all(self, path, params=None):
        return []  # a file has no look-up lists (concession types...): the API run brings them

    def _prepare(self):
        # The API's confirmed field map, if any, applies to the file's values too (a field the
        # admin skipped stays skipped); the file's own column map is confirmed per file.
        field_map = self.run._cliniko_ensure_field_map()
        self.options.field_map_plan = field_map._cliniko_plan() if field_map else None
        self.files = self.run._cliniko_export_files()
        country = self.connection.country_id or self.run.company_id.country_id
        self.region = country.code if country else None

    def _import_resource(self, resource):
        if resource.name != "patients":
            return True  # the files hold patients only
        counter = self._counter(resource.name)
        if counter.done:
            return True
        pages = []
        for export, column_map in self.files:
            results = exports.to_records(export, column_map)
            for start in range(0, len(results), self.page_size):
                pages.append((export, results[start : start + self.page_size], column_map))
        if not counter.started_at:
            counter.write(
                {
                    "started_at": fields.Datetime.now(),
                    "total": sum(len(page[1]) for page in pages),
                }
            )
        importer = ExportPatientImporter(self)
        importer.before_resource()
        clock = time.monotonic()
        for index, (export, results, column_map) in enumerate(pages):
            if index < counter.pages_done:
                continue
            # written whole or not at all, with its counters, as an API page is
            with self._page_savepoint():
                importer.import_rows(export, results, column_map)
                counter.write(
                    {
                        "pages_done": counter.pages_done + 1,
                        "seconds": counter.seconds + time.monotonic() - clock,
                    }
                )
                self.run.export_stats = dict(self.export_stats)
            time_left = self._checkpoint(len(results))
            clock = time.monotonic()
            if self._batch_spent(time_left) or self._interrupted():
                return False
        counter.last_page_read = True
        importer.after_resource()
        counter.done = True
        self._checkpoint()
        return True

    def _total(self, importer):
        return 0


def check_confirmed(export_map, name):
    if not export_map or export_map.state != "confirmed":
        raise UserError(
            "The column map of %s is not confirmed: check it and confirm it before any record "
            "moves." % name
        )
