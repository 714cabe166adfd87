"""Generator: patients (with their planted and random roles, names, e-mails, phones,
addresses and custom fields), the contacts (referring doctors, third-party payers) and the
referral sources that link the two.
"""

from .formats import (
    CLINIC_OPENED,
    DAY,
    DEFAULT_NOW,
    LEGACY_ID_CUTOFF,
    is_valid_email,
    iso,
    iso_date,
    messy_case,
    patient_label,
    slug,
)
from .vocabulary import (
    AU_MOBILE_PREFIXES,
    AU_PLACES,
    CJK_NAMES,
    DOCTORS,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    FIRST_NAMES_ACCENTED,
    FIRST_NAMES_PLAIN,
    INTERNATIONAL_PLACES,
    INVALID_EMAILS,
    LAST_NAMES,
    LAST_NAMES_ACCENTED,
    LAST_NAMES_PLAIN,
    NICKNAMES,
    OCCUPATIONS,
    PATIENT_NOTES,
    PAYERS,
    STREETS,
    TITLES,
    UNPARSEABLE_PHONES,
)


class Patients:
    """Patients and the people around them."""

    PLANTED_ROLES = (  # priority order: the first ones survive in tiny clinics
        "only_last_name",
        "unparseable_phone",
        "invalid_email",
        "archived",
        "merged_winner",
        "merged_loser",
        "deleted",
        "dup_email_a",
        "dup_email_b",
        "dup_phone_a",
        "dup_phone_b",
    )  # + "legacy" at index 0: 12 patients hold every planted case
    # non-planted patients: one random role each, by cumulative share
    RANDOM_ROLES = (
        (0.040, "archived"),
        (0.045, "deleted"),
        (0.052, "merged_loser"),
        (0.062, "only_last_name"),
        (0.077, "unparseable_phone"),
        (0.097, "invalid_email"),
        (0.112, "dup_email_b"),
        (0.126, "dup_phone_b"),
        (0.134, "sparse"),
    )

    def make_patients(self):
        rng, n = self.rng, self.size
        if n == 0:
            return
        span = DEFAULT_NOW - 2 * DAY - CLINIC_OPENED
        times = sorted(CLINIC_OPENED + int(span * rng.random() ** 0.5) for _ in range(n))
        times[0] = CLINIC_OPENED + int(rng.random() * (120 * DAY))  # one legacy-ID patient
        times.sort()
        slots = rng.sample(range(1, n), min(n - 1, len(self.PLANTED_ROLES)))
        # pairs: the first of a pair must exist before the second
        for a, b in (
            ("merged_winner", "merged_loser"),
            ("dup_email_a", "dup_email_b"),
            ("dup_phone_a", "dup_phone_b"),
        ):
            ia, ib = self.PLANTED_ROLES.index(a), self.PLANTED_ROLES.index(b)
            if ib < len(slots) and slots[ia] > slots[ib]:
                slots[ia], slots[ib] = slots[ib], slots[ia]
        self.planted = {slot: role for slot, role in zip(slots, self.PLANTED_ROLES, strict=False)}
        self.planted[0] = "legacy"
        for slot, role in self.planted.items():
            if role in ("dup_phone_a", "merged_winner", "dup_email_a"):
                times[slot] = min(times[slot], DEFAULT_NOW - 400 * DAY - slot * 3600)
        self.plain = []  # ids of active patients with no special role (merge targets)
        self.emails = []  # (id, e-mail) of patients with a valid e-mail
        self.mobiles = []  # (id, phone dict)
        self.eligible = []  # (created, id) of active patients, for group classes
        self.eligible_times = []
        self.pending = {}  # role -> (patient id, detail) waiting for the second of a pair
        for i in range(n):
            role = self.planted.get(i)
            planted = role is not None
            if not planted:
                u = rng.random()
                role = next((r for share, r in self.RANDOM_ROLES if u < share), "plain")
            self.make_patient(times[i], role, planted)
        self.make_orphan()

    def name(self, role, planted):
        rng = self.rng
        if planted and role == "only_last_name":
            return "", "Nguyễn", "", "nguyen"
        if planted and role == "invalid_email":
            return CJK_NAMES[0]
        if planted and role == "dup_phone_b":
            return "Zoë", "Ōtsuka", "zoe", "otsuka"
        r = rng.random
        if r() < 0.03:
            return CJK_NAMES[int(r() * len(CJK_NAMES))]
        firsts = FIRST_NAMES_ACCENTED if r() < 0.1 else FIRST_NAMES_PLAIN
        lasts = LAST_NAMES_ACCENTED if r() < 0.08 else LAST_NAMES_PLAIN
        first, first_a = firsts[int(r() * len(firsts))]
        last, last_a = lasts[int(r() * len(lasts))]
        if role == "only_last_name":
            return "", last, "", last_a
        return first, last, first_a, last_a

    def email(self, first_a, last_a):
        rng = self.rng
        u = rng.random()
        first_a = first_a or "patient"
        if u < 0.45:
            local = "%s.%s" % (first_a, last_a)
        elif u < 0.65:
            local = first_a + last_a
        elif u < 0.8:
            local = "%s.%s" % (first_a[0], last_a)
        else:
            local = "%s_%s" % (first_a, last_a)
        if rng.random() < 0.6:
            local += str(rng.randrange(1, 100))
        address = "%s@%s" % (local, EMAIL_DOMAINS[int(rng.random() * (len(EMAIL_DOMAINS)))])
        u = rng.random()
        if u < 0.08:
            address = messy_case(address)
        elif u < 0.12:
            address = " %s " % address
        return address

    def mobile(self):
        rng = self.rng
        national = "4%s%06d" % (
            AU_MOBILE_PREFIXES[int(rng.random() * (len(AU_MOBILE_PREFIXES)))],
            int(rng.random() * (10**6)),
        )
        u = rng.random()
        if u < 0.5:
            number = "0%s %s %s" % (national[:3], national[3:6], national[6:])
        elif u < 0.7:
            number = "0" + national
        elif u < 0.88:
            number = "+61 %s %s %s" % (national[:3], national[3:6], national[6:])
        else:
            number = "+61" + national
        return {"number": number, "phone_type": "Mobile", "normalized_number": "61" + national}

    def landline(self, kind):
        rng = self.rng
        area = rng.choice("2378")
        local = ("3" if area == "7" else "9") + "%07d" % int(rng.random() * (10**7))
        u = rng.random()
        if u < 0.55:
            number = "(0%s) %s %s" % (area, local[:4], local[4:])
        elif u < 0.8:
            number = "0%s %s %s" % (area, local[:4], local[4:])
        elif u < 0.95:
            number = "+61 %s %s %s" % (area, local[:4], local[4:])
        else:
            number = "%s %s" % (local[:4], local[4:])  # no area code, as people type it
        return {"number": number, "phone_type": kind, "normalized_number": "61" + area + local}

    def foreign_phone(self, country):
        rng = self.rng
        if country == "GB":
            tail = "%03d" % int(rng.random() * 1000)
            return {
                "number": "+44 20 7946 0" + tail,
                "phone_type": "Mobile",
                "normalized_number": "44207946" + "0" + tail,
            }
        digits = "%07d" % int(rng.random() * (10**7))
        return {
            "number": "+64 21 %s %s" % (digits[:3], digits[3:]),
            "phone_type": "Mobile",
            "normalized_number": "6421" + digits,
        }

    def custom_fields(self):
        rng = self.rng
        insurance, about = self.custom_definition["sections"]
        provider, policy = insurance["fields"][0], insurance["fields"][1]
        heard, gp_date = about["fields"][0], about["fields"][1]
        sections = []
        fields = []
        if rng.random() < 0.8:
            pick = int(rng.random() * (len(provider["options"]) + 1))
            options = [
                dict(o, selected=True) if i == pick else dict(o)
                for i, o in enumerate(provider["options"])
            ]
            other = {"enabled": True}
            if pick == len(provider["options"]):
                other.update(selected=True, value=rng.choice(["AHM", "Teachers Health", "GMHBA"]))
            fields.append(
                {
                    "name": provider["name"],
                    "type": "radiobuttons",
                    "token": provider["token"],
                    "options": options,
                    "other": other,
                }
            )
            fields.append(
                {
                    "name": policy["name"],
                    "type": "text",
                    "token": policy["token"],
                    "value": "%s-%07d"
                    % (rng.choice(["ABC", "HX", "M"]), int(rng.random() * (10**7))),
                }
            )
        if fields:
            sections.append(
                {"name": insurance["name"], "token": insurance["token"], "fields": fields}
            )
        fields = []
        if rng.random() < 0.6:
            picks = {int(rng.random() * (len(heard["options"]))) for _ in range(2)}
            fields.append(
                {
                    "name": heard["name"],
                    "type": "checkboxes",
                    "token": heard["token"],
                    "options": [
                        dict(o, selected=True) if i in picks else dict(o)
                        for i, o in enumerate(heard["options"])
                    ],
                    "other": {"enabled": True},
                }
            )
        if rng.random() < 0.2:
            fields.append(
                {
                    "name": gp_date["name"],
                    "type": "date",
                    "token": gp_date["token"],
                    "value": iso_date(CLINIC_OPENED + int(rng.random() * 1500) * DAY),
                }
            )
        if fields:
            sections.append({"name": about["name"], "token": about["token"], "fields": fields})
        return {"sections": sections} if sections else None

    def make_patient(self, t, role, planted):
        rng = self.rng
        r = rng.random
        first, last, first_a, last_a = self.name(role, planted)
        source = None
        if role == "merged_loser":
            source = (
                self.pending.get("merged_winner")
                if planted
                else (self.plain[int(rng.random() * (len(self.plain)))] if self.plain else None)
            )
            if source is None:
                role = "plain"
            else:
                winner = self.res["patients"][source]
                first, last = winner["first_name"], winner["last_name"]
                first_a, last_a = first.lower(), last.lower()
        fields = {
            "title": TITLES[int(rng.random() * (len(TITLES)))],
            "first_name": first,
            "last_name": last,
        }
        if r() < 0.15 and first:
            fields["preferred_first_name"] = NICKNAMES.get(first)
        # the planted only-last-name patient is also the sparse one: no e-mail, phone,
        # address or date of birth, and no appointments
        sparse = role == "sparse" or (planted and role == "only_last_name")

        # e-mail
        email = None if r() < 0.5 else ""
        if role == "invalid_email":
            email = INVALID_EMAILS[0 if planted else int(rng.random() * (len(INVALID_EMAILS)))]
        elif role == "dup_email_b":
            pair = (
                self.pending.get("dup_email_a")
                if planted
                else (self.emails[int(rng.random() * (len(self.emails)))] if self.emails else None)
            )
            if pair is not None:
                email = " %s " % messy_case(pair[1].strip()) if planted else pair[1]
                source = pair[0]
            else:
                email = self.email(first_a, last_a)
        elif role == "merged_loser":
            email = (self.res["patients"][source]["email"] or "").strip().upper() or None
        elif not sparse and (r() < 0.88 or role == "dup_email_a"):
            email = self.email(first_a, last_a)
            if role == "dup_email_a":
                email = email.strip().lower()
        fields["email"] = email

        # address
        country_code = "AU"
        legacy = planted and role == "legacy"
        if not sparse and (r() < 0.85 or legacy):
            if r() < 0.04 and not legacy:
                city, state, post, country, country_code = INTERNATIONAL_PLACES[
                    int(rng.random() * (len(INTERNATIONAL_PLACES)))
                ]
            else:
                city, state, post = AU_PLACES[int(rng.random() * (len(AU_PLACES)))]
                country = "Australia" if r() < 0.9 else None
                if r() < 0.03:
                    city += " "
            number = 1 + int(rng.random() * 250)
            fields.update(
                address_1=(
                    "%d/%d %s"
                    % (
                        1 + int(rng.random() * 20),
                        number,
                        STREETS[int(rng.random() * (len(STREETS)))],
                    )
                    if r() < 0.2
                    else "%d %s" % (number, STREETS[int(rng.random() * (len(STREETS)))])
                ),
                address_2="" if r() < 0.9 else "Apartment %d" % (1 + int(rng.random() * 40)),
                city=city,
                state=state,
                post_code=post,
                country=country,
                country_code=country_code if (country or r() < 0.5) else None,
            )

        # phones
        phones = []
        if role == "unparseable_phone":
            phones.append(
                {
                    "number": UNPARSEABLE_PHONES[
                        0 if planted else int(rng.random() * (len(UNPARSEABLE_PHONES)))
                    ],
                    "phone_type": "Mobile",
                    "normalized_number": None,
                }
            )
        elif role == "dup_phone_b":
            pair = (
                self.pending.get("dup_phone_a")
                if planted
                else (
                    self.mobiles[int(rng.random() * (len(self.mobiles)))] if self.mobiles else None
                )
            )
            if pair is not None:
                phones.append(dict(pair[1]))
                source = pair[0]
        if legacy:  # an Australian resident who kept a UK mobile
            phones.append(self.foreign_phone("GB"))
        if not sparse and not phones:
            if country_code != "AU" and country_code:
                phones.append(self.foreign_phone(country_code))
            elif r() < 0.9 or role in ("dup_phone_a", "legacy"):
                phones.append(self.mobile())
            if r() < 0.25:
                phones.append(self.landline("Home"))
            if r() < 0.08:
                phones.append(self.landline("Work"))
        fields["patient_phone_numbers"] = phones

        # everything else
        if not sparse and r() < 0.92:
            fields["date_of_birth"] = iso_date(-12784 * DAY + int(rng.random() * 31500) * DAY)
        if sparse:
            fields["title"] = ""
        else:
            u = r()
            fields.update(
                sex="Female" if u < 0.5 else "Male" if u < 0.95 else None,
                gender="Female" if u < 0.5 else "Male" if u < 0.95 else None,
                gender_identity=None if u < 0.97 else "Non-binary",
                occupation=OCCUPATIONS[int(rng.random() * (len(OCCUPATIONS)))] if r() < 0.4 else "",
                reminder_type=("SMS & Email", "SMS", "Email", "None")[int(rng.random() * 4)],
                receives_confirmation_emails=r() < 0.8,
                accepted_privacy_policy=True if r() < 0.7 else None,
                accepted_email_marketing=r() < 0.3,
                accepted_sms_marketing=r() < 0.2,
                time_zone="Australia/Melbourne" if r() < 0.6 else None,
            )
            if r() < 0.2:
                fields["notes"] = PATIENT_NOTES[int(rng.random() * (len(PATIENT_NOTES)))]
            if r() < 0.2:
                fields["emergency_contact"] = "%s (partner) 04%02d %03d %03d" % (
                    FIRST_NAMES[int(rng.random() * (len(FIRST_NAMES)))][0],
                    int(rng.random() * 100),
                    int(rng.random() * 1000),
                    int(rng.random() * 1000),
                )
            if r() < 0.05:
                fields["appointment_notes"] = "Allow extra time — uses a wheelchair."
            if country_code == "AU" and r() < 0.45:
                card = "%d%09d" % (2 + int(rng.random() * 5), int(rng.random() * (10**9)))
                if r() < 0.4:  # typed with spaces, as printed on the card
                    card = "%s %s %s" % (card[:4], card[4:9], card[9:])
                fields["medicare"] = card
                fields["medicare_reference_number"] = (
                    "" if r() < 0.1 else str(1 + int(rng.random() * 5))
                )
            if r() < 0.02:
                fields["dva_card_number"] = "%sX%06d" % (
                    rng.choice("NVQSWT"),
                    int(rng.random() * (10**6)),
                )
                fields["invoice_default_to"] = "Department of Veterans' Affairs"
            elif r() < 0.05:
                payer, payer_email = PAYERS[int(rng.random() * (len(PAYERS)))]
                fields.update(
                    invoice_default_to=payer,
                    invoice_email=payer_email or "",
                    invoice_extra_information="Claim #%08d\r\nPolicy #%06d"
                    % (int(rng.random() * (10**8)), int(rng.random() * (10**6))),
                )
            if r() < 0.1:
                fields["concession_type_id"] = self.concessions[
                    int(rng.random() * (len(self.concessions)))
                ]["id"]
            if r() < 0.15:
                fields["referring_doctor_id"] = self.doctors[
                    int(rng.random() * (len(self.doctors)))
                ]["id"]
            if r() < 0.2:
                fields["referral_source"] = rng.choice(
                    ["Google", "Dr Patel", "Friend", "Walked past", "Facebook"]
                )
            if r() < 0.4:
                fields["custom_fields"] = self.custom_fields()
        if legacy:
            fields["old_reference_id"] = "PM-%05d" % int(rng.random() * 100000)
            fields["medicare"] = "2123 45670 1"
            fields["medicare_reference_number"] = ""
        elif t < LEGACY_ID_CUTOFF and r() < 0.5:
            fields["old_reference_id"] = "PM-%05d" % int(rng.random() * 100000)

        # lifecycle
        updated = t if r() < 0.4 else min(t + int(rng.random() * (400 * DAY)), DEFAULT_NOW - 60)
        end = DEFAULT_NOW - 60
        if role in ("archived", "merged_loser", "deleted"):
            when = t + max(60, int((end - t) * (0.2 + 0.7 * r())))
            end = updated = when
            if role == "deleted":
                fields["deleted_at"] = iso(when)
            else:
                fields["archived_at"] = iso(when)
            if role == "merged_loser":
                fields["merged_at"] = iso(when)
                fields["merged_with_patient_id"] = source
        patient = self.add("patients", t, "patients", updated=updated, **fields)
        patient["label"] = patient_label(patient) or None
        pid = patient["id"]

        # bookkeeping for later pairs and for the edge-case index
        if role in ("merged_winner", "dup_email_a", "dup_phone_a"):
            detail = {
                "merged_winner": pid,
                "dup_email_a": (pid, email),
                "dup_phone_a": (pid, phones[0] if phones else None),
            }[role]
            if planted:
                self.pending[role] = detail
        if role == "plain" or (role in ("merged_winner", "dup_email_a", "dup_phone_a")):
            self.plain.append(pid)
        if email and is_valid_email(email) and role not in ("merged_loser", "deleted"):
            self.emails.append((pid, email))
        if (
            phones
            and phones[0].get("normalized_number")
            and role not in ("merged_loser", "deleted")
        ):
            self.mobiles.append((pid, phones[0]))
        if planted:
            self.record_edge(role, pid, source)
        self.edge_scan(patient)

        # history
        if role in ("deleted", "merged_loser") or sparse:
            return
        if role not in ("archived",):
            self.eligible.append(pid)
            self.eligible_times.append(t)
        self.patient_history(patient, t, end, regular=planted and role == "dup_phone_a")

    def make_contacts(self, t0):
        rng = self.rng
        self.doctors, self.payers = [], []
        extra_doctors = self.size // 400
        for i in range(len(DOCTORS) + extra_doctors):
            title, first, last, practice, kind = DOCTORS[i % len(DOCTORS)]
            if i >= len(DOCTORS):
                first, _ = rng.choice(FIRST_NAMES)
                last, _ = rng.choice(LAST_NAMES)
            t = (
                t0 + 3000 + i * 3600
                if i < len(DOCTORS)
                else CLINIC_OPENED + int(rng.random() * (DEFAULT_NOW - CLINIC_OPENED - 30 * DAY))
            )
            city, state, post = rng.choice(AU_PLACES)
            self.doctors.append(
                self.add(
                    "contacts",
                    t,
                    "setup",
                    title=title,
                    first_name=first,
                    last_name=last,
                    company_name=practice,
                    occupation="General Practitioner"
                    if kind != "specialist"
                    else "Orthopaedic surgeon",
                    email="%s.%s@%s.example.com"
                    % (slug(first)[:1], slug(last), "clinic" if i % 2 else "med"),
                    phone_numbers=[
                        {"number": self.melbourne_phone(), "phone_type": "Work"},
                        {"number": self.melbourne_phone(), "phone_type": "Fax"},
                    ],
                    address_1="%d %s" % (1 + int(rng.random() * 300), rng.choice(STREETS)),
                    city=city,
                    state=state,
                    post_code=post,
                    country="Australia",
                    country_code="AU",
                    provider_number=self.provider_number(),
                    type="Doctor",
                    type_code=1,
                    doctor_type=kind,
                )
            )
        for i, (company, email) in enumerate(PAYERS):
            self.payers.append(
                self.add(
                    "contacts",
                    t0 + 4000 + i * 600,
                    "setup",
                    company_name=company,
                    email=email or "",
                    type="3rd Party Payer",
                    type_code=2,
                    country="Australia",
                    country_code="AU",
                    notes="Send invoices within 30 days." if i == 2 else "",
                )
            )
        self.add(
            "contacts",
            t0 + 5000,
            "setup",
            first_name="Grace",
            last_name="Holloway",
            company_name="Holloway & Partners Lawyers",
            occupation="Solicitor",
            email="g.holloway@lawyers.example.com",
            type="Standard",
            type_code=0,
            phone_numbers=[{"number": "+61 3 9600 1234", "phone_type": "Work"}],
            country="Australia",
            country_code="AU",
            archived_at=iso(CLINIC_OPENED + 400 * DAY),
            updated=CLINIC_OPENED + 400 * DAY,
        )

    def referral_source(self, patient, t):
        rng = self.rng
        u = rng.random()
        types = self.referral_types
        if u < 0.3 and self.doctors:
            kind, referrer, sub = (
                types["Contact"],
                self.doctors[int(rng.random() * (len(self.doctors)))]["id"],
                None,
            )
        elif u < 0.5 and len(self.plain) > 1:
            kind, referrer, sub = (
                types["Client"],
                self.plain[int(rng.random() * (len(self.plain)))],
                None,
            )
            if referrer == patient["id"]:
                kind, referrer = types["Other"], None
        elif u < 0.8:
            kind, referrer, sub = (
                types["Internet"],
                None,
                rng.choice(types["Internet"]["subcategories"]),
            )
        else:
            kind, referrer, sub = types["Other"], None, None
        self.add(
            "referral_sources",
            t,
            "other",
            patient_id=patient["id"],
            referral_source_type_id=kind["id"],
            referrer_type=kind["referrer_type"],
            referrer_id=referrer,
            subcategory=sub,
            notes=None if rng.random() < 0.7 else "Mentioned on first visit",
        )
