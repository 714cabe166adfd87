"""The clinic: the live, thread-safe store of one Cliniko account that the sandbox serves.

It holds the records (``resources``), the attachment bytes (``files``), the account settings and
the index of planted edge cases, owns the clock, renders a stored record into the API's JSON
shape, and carries out the changes a test or the sandbox's write routes make (create, update,
archive, cancel, soft-delete, merge patients).
"""

import copy
import hashlib
import random
import threading
from datetime import UTC, datetime

from .formats import DEFAULT_NOW, full_name, iso, patient_label, snowflake
from .schema import (
    CANCELLATION_REASONS,
    FOREIGN_KEYS,
    LIST_LINKS,
    OPTIONAL_RELATIONS,
    PATIENT_CHILDREN,
    RESOURCE_NAMES,
    new_record,
)


class Clinic:
    """The live data of one Cliniko account. Mutations go through the helpers (thread-safe)."""

    def __init__(self, seed=1, shard="au1", now=DEFAULT_NOW):
        self.seed = seed
        self.shard = shard
        self.resources = {name: {} for name in RESOURCE_NAMES}
        self.files = {}  # patient attachment id -> bytes
        self.settings = {}
        self.edge_cases = {}
        self.key_owner_id = None  # the user who owns the API key
        self.subdomain = "clinic"
        self.base_url = "https://api.%s.cliniko.com/v1" % shard
        self.version = 0  # bumped by every helper; the server caches big lists by it
        self.lock = threading.RLock()
        self._now = now
        self._id_rng = random.Random("cliniko-sandbox-ids:%s" % seed)
        self._seq = 1 << 21
        self._file_index = {}

    # -- clock ------------------------------------------------------------------------------
    @property
    def now(self):
        return datetime.fromtimestamp(self._now, tz=UTC)

    @now.setter
    def now(self, value):
        self._now = value.timestamp() if isinstance(value, datetime) else value

    def now_iso(self):
        return iso(self._now)

    def tick(self, seconds=1):
        """Move the clinic's clock forward."""
        with self.lock:
            self._now += seconds
        return self.now

    def touch(self):
        """Call after editing ``resources`` by hand so cached list answers are dropped."""
        with self.lock:
            self.version += 1

    # -- reading ------------------------------------------------------------------------------
    def get(self, resource, record_id, base_url=None):
        """The record as the API serves it (deep copy), whatever its lifecycle; None if unknown."""
        with self.lock:
            record = self.resources[resource].get(str(record_id))
            if record is None:
                return None
            return copy.deepcopy(self.render(resource, record, base_url))

    def render(self, resource, record, base_url=None):
        """A stored record -> the API's JSON shape, links made absolute against ``base_url``."""
        base = (base_url or self.base_url).rstrip("/")
        out = {}
        for key, value in record.items():
            relation = FOREIGN_KEYS.get(key)
            if relation is None:
                out[key] = value
                continue
            name, target = relation
            if value is None or value == "":
                if (resource, key) not in OPTIONAL_RELATIONS:
                    out[name] = None
                continue
            out[name] = {"links": {"self": "%s/%s/%s" % (base, target, value)}}
        record_id = record.get("id")
        for name, template in LIST_LINKS.get(resource, {}).items():
            out[name] = {"links": {"self": base + template.format(id=record_id)}}
        if resource == "referral_sources":
            referrer = out.pop("referrer_id", None)
            target = {"Patient": "patients", "Contact": "contacts"}.get(record.get("referrer_type"))
            out["referrer"] = (
                {"links": {"self": "%s/%s/%s" % (base, target, referrer)}}
                if referrer and target
                else None
            )
            out["links"] = {"self": "%s/patients/%s/referral_source" % (base, record["patient_id"])}
            return out
        if resource == "referral_source_types":
            target = {"Patient": "patients", "Contact": "contacts"}.get(record.get("referrer_type"))
            out["referrers"] = {"links": {"self": "%s/%s" % (base, target)}} if target else None
        elif resource == "patient_forms" and record.get("signatures"):
            out["signatures"] = [
                {"links": {"self": "%s/patient_forms/%s/signatures/%s" % (base, record_id, sig)}}
                for sig in record["signatures"]
            ]
        out["links"] = {"self": "%s/%s/%s" % (base, resource, record_id)}
        return out

    # -- files --------------------------------------------------------------------------------
    def file_token(self, attachment_id):
        """The unguessable-ish token of an attachment's download URL (derived from seed + id)."""
        digest = hashlib.sha256(
            ("cliniko-sandbox-file:%s:%s" % (self.seed, attachment_id)).encode()
        ).hexdigest()
        return digest[:40]

    def find_file(self, token):
        """(attachment record, bytes) for a download token, or None."""
        with self.lock:
            attachment_id = self._file_index.get(token)
            if attachment_id is None:
                self._file_index = {self.file_token(aid): aid for aid in self.files}
                attachment_id = self._file_index.get(token)
            record = self.resources["patient_attachments"].get(attachment_id or "")
            if record is None or attachment_id not in self.files:
                return None
            return record, self.files[attachment_id]

    # -- mutation helpers (each bumps updated_at to clinic.now) -------------------------------
    def new_id(self):
        with self.lock:
            while True:
                self._seq += 1
                candidate = snowflake(self._now, self._seq, self._id_rng.randrange(1000))
                if not any(candidate in store for store in self.resources.values()):
                    return candidate

    def create(self, resource, **fields):  # pylint: disable=method-required-super
        """Add a record created now; returns the stored record."""
        with self.lock:
            stamp = iso(self._now)
            record = new_record(resource, id=self.new_id(), created_at=stamp, updated_at=stamp)
            record.update(fields)
            if resource == "patients" and not fields.get("label"):
                record["label"] = patient_label(record)
            self.resources[resource][record["id"]] = record
            if resource == "individual_appointments" and "booking_id" not in fields:
                self.create(
                    "attendees",
                    booking_id=record["id"],
                    patient_id=record.get("patient_id"),
                    arrived=record.get("patient_arrived") or None,
                )
            if resource == "patient_attachments" and "data" in fields:
                data = record.pop("data")
                self.files[record["id"]] = data
                record["size"] = len(data)
                record["processing_completed"] = True
                record["processed_at"] = stamp
            self.version += 1
            return record

    def add_attachment(self, patient_id, filename, content_type, data, description=None):
        """A processed patient attachment holding ``data``."""
        return self.create(
            "patient_attachments",
            patient_id=patient_id,
            filename=filename,
            content_type=content_type,
            description=description,
            data=data,
        )

    def update(self, resource, record_id, **fields):
        with self.lock:
            record = self.resources[resource][str(record_id)]
            record.update(fields)
            if (
                resource == "patients"
                and ({"first_name", "last_name", "preferred_first_name"} & set(fields))
                and "label" not in fields
            ):
                record["label"] = patient_label(record)
            record["updated_at"] = iso(self._now)
            self.version += 1
            return record

    def archive(self, resource, record_id):
        with self.lock:
            changes = {"archived_at": iso(self._now)}
            if resource == "practitioners":
                changes = {"active": False}
            elif resource == "users":
                changes = {"active": False, "user_active": False}
            return self.update(resource, record_id, **changes)

    def unarchive(self, resource, record_id):
        with self.lock:
            if resource in ("practitioners", "users"):
                return self.update(resource, record_id, active=True)
            return self.update(resource, record_id, archived_at=None)

    def cancel(self, resource, record_id, reason=50, note=""):
        """Cancel an individual appointment (and its attendee) or a group attendee."""
        if resource not in ("individual_appointments", "attendees"):
            raise ValueError("only individual_appointments and attendees can be cancelled")
        with self.lock:
            changes = {
                "cancelled_at": iso(self._now),
                "cancellation_reason": reason,
                "cancellation_reason_description": CANCELLATION_REASONS.get(reason, "Other"),
                "cancellation_note": note,
            }
            record = self.update(resource, record_id, **changes)
            if resource == "individual_appointments":
                for attendee in self._attendees_of(record["id"]):
                    self.update("attendees", attendee["id"], **changes)
            else:
                group = self.resources["group_appointments"].get(record.get("booking_id") or "")
                if group is not None and record.get("patient_id") in group["patient_ids"]:
                    ids = [p for p in group["patient_ids"] if p != record["patient_id"]]
                    self.update("group_appointments", group["id"], patient_ids=ids)
            return record

    def delete(self, resource, record_id):
        """Soft-delete: ``deleted_at`` is set and the record moves to the /deleted lists."""
        with self.lock:
            stamp = iso(self._now)
            record = self.update(resource, record_id, deleted_at=stamp)
            if resource in ("individual_appointments", "group_appointments"):
                for attendee in self._attendees_of(record["id"]):
                    self.update("attendees", attendee["id"], deleted_at=stamp)
            elif resource == "invoices":
                for item in list(self.resources["invoice_items"].values()):
                    if item["invoice_id"] == record["id"]:
                        self.update("invoice_items", item["id"], deleted_at=stamp)
            return record

    def merge_patients(self, loser_id, winner_id):
        """Merge ``loser_id`` into ``winner_id``: children move, the loser is archived."""
        with self.lock:
            loser_id, winner_id = str(loser_id), str(winner_id)
            winner = self.resources["patients"][winner_id]
            stamp = iso(self._now)
            for resource in PATIENT_CHILDREN:
                for record in list(self.resources[resource].values()):
                    if record.get("patient_id") == loser_id:
                        changes = {"patient_id": winner_id}
                        if "patient_name" in record:
                            changes["patient_name"] = full_name(winner)
                        self.update(resource, record["id"], **changes)
            for group in list(self.resources["group_appointments"].values()):
                if loser_id in group["patient_ids"]:
                    ids = [winner_id if p == loser_id else p for p in group["patient_ids"]]
                    self.update(
                        "group_appointments", group["id"], patient_ids=list(dict.fromkeys(ids))
                    )
            return self.update(
                "patients",
                loser_id,
                merged_at=stamp,
                archived_at=stamp,
                merged_with_patient_id=winner_id,
            )

    def _attendees_of(self, booking_id):
        return [a for a in self.resources["attendees"].values() if a["booking_id"] == booking_id]
