"""The generator: one class, made of one mixin per group of records, that builds a
clinic in a fixed order so that the same seed and size always draw the same random numbers.

The order of the draws is the order of the calls in ``_Generator.run`` and the methods it calls;
moving a method between mixins changes nothing, changing the order of calls changes every clinic.
"""

import gc
import random
import uuid

from .appointments import Appointments
from .billing import Billing
from .clinic import Clinic
from .edge_cases import EdgeCases
from .files import Files
from .formats import LEGACY_ID_CUTOFF, iso, snowflake
from .history import History
from .patients import Patients
from .reference import ReferenceData
from .schema import new_record


class _Generator(ReferenceData, Patients, Appointments, History, Billing, Files, EdgeCases):
    """Builds one clinic. Keep per-record work cheap: 100,000 patients must stay feasible."""

    def __init__(self, seed, patients):
        self.seed = seed
        self.size = max(0, int(patients))
        self.rng = random.Random(seed)
        self.clinic = Clinic(seed=seed)
        self.res = self.clinic.resources
        self.edge = self.clinic.edge_cases
        self.seq = int(self.rng.random() * (1 << 12))
        self.legacy = {}

    # -- ids ----------------------------------------------------------------------------------
    LEGACY_BASE = {
        "setup": 1_000_000,
        "patients": 75_000_000,
        "bookings": 120_000_000,
        "attendees": 130_000_000,
        "invoices": 60_000_000,
        "notes": 40_000_000,
        "comms": 210_000_000,
        "other": 9_000_000,
    }

    def new_id(self, t, family="other"):
        if t < LEGACY_ID_CUTOFF:
            last = self.legacy.get(family) or self.LEGACY_BASE[family] + int(
                self.rng.random() * 5000
            )
            last += 1 + int(self.rng.random() * 9)
            self.legacy[family] = last
            return str(last)
        self.seq += 1
        return snowflake(t, self.seq, int(self.rng.random() * 1000))

    def add(self, resource, t, family="other", updated=None, **fields):
        record = new_record(resource, **fields)
        record["id"] = self.new_id(t, family)
        record["created_at"] = iso(t)
        record["updated_at"] = iso(updated if updated is not None else t)
        self.res[resource][record["id"]] = record
        return record

    def token(self):
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # -- small random values more than one group draws ----------------------------------------
    def melbourne_phone(self):
        """A Melbourne landline as clinics print it: ``(03) 9123 4567``."""
        return "(03) 9%03d %04d" % (int(self.rng.random() * 1000), int(self.rng.random() * 10000))

    def provider_number(self):
        """A Medicare provider number: six digits, a location digit and a check letter."""
        rng = self.rng
        return "%06d%s%s" % (
            int(rng.random() * (10**6)),
            rng.choice("0123456789"),
            rng.choice("ABCDEFHJKLTWXY"),
        )

    # -- entry point --------------------------------------------------------------------------
    def run(self):
        self.setup()
        self.make_patients()
        self.make_groups()
        self.finish()
        self.clinic._seq = self.seq + 1
        return self.clinic

    # -- final pass ---------------------------------------------------------------------------
    def finish(self):
        invoices = sorted(
            self.res["invoices"].values(), key=lambda v: (v["created_at"], int(v["id"]))
        )
        numbers = {}
        for number, invoice in enumerate(invoices, 1):
            invoice["number"] = number
            numbers[invoice["id"]] = number
        for message in self.res["communications"].values():
            if message["category_code"] == 3 and message["invoice_id"]:
                message["content_subject"] = "Invoice #%d from %s" % (
                    numbers[message["invoice_id"]],
                    self.clinic_name,
                )
        self.clinic.version += 1


def generate_clinic(seed=1, patients=12):
    """A deterministic clinic with ``patients`` patients (12 to 100,000)."""
    paused = gc.isenabled()
    gc.disable()  # millions of small dicts: the cyclic GC would make generation superlinear
    try:
        return _Generator(seed, patients).run()
    finally:
        if paused:
            gc.enable()
