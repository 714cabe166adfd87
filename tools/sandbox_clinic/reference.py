"""Generator: the account set-up (taxes, businesses, note and form templates,
appointment types with their billable items, products, users and practitioners, concession and
referral source types, settings), made before the first patient.
"""

from .formats import (
    CLINIC_OPENED,
    DAY,
    HYDRO_ARCHIVED_AT,
    OLD_ROOMS_CLOSED_AT,
    PRACTITIONERS_LEFT_AT,
    iso,
    money,
)
from .vocabulary import APPOINTMENT_TYPES, CLINIC_NAMES, COLORS, PRACTITIONER_POOL


class ReferenceData:
    """Account set-up: what every patient record refers to."""

    def setup(self):
        rng = self.rng
        t0 = CLINIC_OPENED - 30 * DAY
        name, subdomain = rng.choice(CLINIC_NAMES)
        self.clinic_name, self.clinic.subdomain = name, subdomain
        self.mail_domain = subdomain.replace("-", "") + ".example.com"
        self.sms_sender = name.split()[0] + "Physio"

        gst = self.add("taxes", t0, "setup", name="GST", rate="10.0", amount="10.0")
        free = self.add("taxes", t0 + 60, "setup", name="GST free", rate="0.0", amount="0.0")
        self.gst, self.gst_free = gst, free
        self.tax_rate = {gst["id"]: 10, free["id"]: 0}

        self.make_businesses(t0)
        self.make_templates(t0)
        self.make_types(t0)
        self.make_staff(t0)
        self.make_contacts(t0)
        self.make_misc(t0)
        self.make_settings()

    def make_businesses(self, t0):
        rng = self.rng
        count = 1 + int(rng.random() * 3)
        melbourne = ("Melbourne", "Australia/Melbourne")
        places = [
            (
                "Level 1, 123 Brunswick Street",
                "Fitzroy",
                "VIC",
                "3065",
                "Australia",
                "AU",
                melbourne,
            ),
            ("45 Lygon Street", "Carlton", "Victoria", "3053", "Australia", "AU", melbourne),
            rng.choice(
                [
                    (
                        "210 Ponsonby Road",
                        "Auckland",
                        "Auckland",
                        "1011",
                        "New Zealand",
                        "NZ",
                        ("Auckland", "Pacific/Auckland"),
                    ),
                    (
                        "2 Tooley Street",
                        "London",
                        "",
                        "SE1 2PF",
                        "United Kingdom",
                        "GB",
                        ("London", "Europe/London"),
                    ),
                ]
            ),
        ][:count]
        self.businesses = []
        for i, (street, city, state, post, country, code, tz) in enumerate(places):
            label = "%s — %s" % (self.clinic_name, city)
            business = self.add(
                "businesses",
                t0 + 120 + i * DAY * 200,
                "setup",
                business_name=label,
                label=label,
                address_1=street,
                city=city,
                state=state,
                post_code=post,
                country=country,
                country_code=code,
                business_registration_name="ABN"
                if code == "AU"
                else "NZBN"
                if code == "NZ"
                else "VAT",
                business_registration_value="%011d" % int(rng.random() * (10**11)),
                contact_information="Phone: " + self.melbourne_phone(),
                email_reply_to="reception@" + self.mail_domain,
                website_address="https://www." + self.mail_domain,
                time_zone=tz[0],
                time_zone_identifier=tz[1],
            )
            self.businesses.append(business)
        closed = self.add(
            "businesses",
            t0 + 200,
            "setup",
            business_name="Richmond rooms (closed)",
            label="Richmond rooms (closed)",
            address_1="9 Swan Street",
            city="Richmond",
            state="VIC",
            post_code="3121",
            country="Australia",
            country_code="AU",
            time_zone="Melbourne",
            time_zone_identifier="Australia/Melbourne",
            show_in_online_bookings=False,
            archived_at=iso(OLD_ROOMS_CLOSED_AT),
            updated=OLD_ROOMS_CLOSED_AT,
        )
        self.closed_business = closed
        self.edge["archived_business"] = closed["id"]

    def make_templates(self, t0):
        soap = self.add(
            "treatment_note_templates",
            t0 + 300,
            "setup",
            name="Standard Consultation",
            content=self.note_content(None, template=True),
            print_settings={
                "include_patient_address": True,
                "include_patient_dob": True,
                "include_patient_medicare": None,
                "include_patient_occupation": None,
                "include_patient_reference_number": None,
                "title": None,
            },
        )
        initial = self.add(
            "treatment_note_templates",
            t0 + 360,
            "setup",
            name="Initial Assessment",
            content=self.note_content(None, template=True, initial=True),
            print_settings={
                "include_patient_address": True,
                "include_patient_dob": True,
                "include_patient_medicare": True,
                "include_patient_occupation": True,
                "include_patient_reference_number": None,
                "title": "Initial assessment",
            },
        )
        old = self.add(
            "treatment_note_templates",
            t0 + 400,
            "setup",
            name="Old SOAP (do not use)",
            content=self.note_content(None, template=True),
            deleted_at=iso(CLINIC_OPENED + 90 * DAY),
            updated=CLINIC_OPENED + 90 * DAY,
        )
        self.soap_template, self.initial_template = soap, initial
        self.edge["deleted_treatment_note_template"] = old["id"]
        self.intake_template = self.add(
            "patient_form_templates",
            t0 + 500,
            "setup",
            name="New Patient Intake",
            content=self.form_content(None),
        )

    def make_types(self, t0):
        rng = self.rng
        extra = APPOINTMENT_TYPES[4:]
        count = 5 + int(rng.random() * 4)  # 5..8
        chosen = APPOINTMENT_TYPES[:4] + rng.sample(extra, count - 4)
        self.types, self.items_by_type = [], {}
        for i, (name, category, minutes, color, max_att, price, code, taxed) in enumerate(chosen):
            t = t0 + 600 + i * 60
            item = self.add(
                "billable_items",
                t,
                "setup",
                name=name,
                item_code=code,
                item_type="Service",
                price=money(price),
                tax_id=self.gst["id"] if taxed else self.gst_free["id"],
            )
            archived = name.startswith("Hydrotherapy")
            apt = self.add(
                "appointment_types",
                t,
                "setup",
                name=name,
                category=category,
                color=COLORS[color],
                duration_in_minutes=minutes,
                max_attendees=max_att,
                description="Group class, max %d" % max_att if max_att > 1 else None,
                show_in_online_bookings=not archived and name != "Dry Needling Add-on",
                telehealth_enabled=name.startswith("Telehealth"),
                online_payments_enabled=max_att > 1,
                online_payments_mode="required" if max_att > 1 else None,
                online_bookings_lead_time_hours=rng.choice([0, 2, 12, 24]),
                billable_item_id=item["id"],
                treatment_note_template_id=(
                    self.initial_template["id"]
                    if name.startswith("Initial")
                    else self.soap_template["id"]
                ),
                archived_at=iso(HYDRO_ARCHIVED_AT) if archived else None,
                updated=HYDRO_ARCHIVED_AT if archived else None,
            )
            self.types.append(apt)
            self.items_by_type[apt["id"]] = item
            if archived:
                self.edge["archived_appointment_type"] = apt["id"]
                self.hydro = apt
            if max_att > 1:
                self.edge["group_appointment_type"] = apt["id"]
                self.group_type = apt
        self.initial_type, self.standard_type = self.types[0], self.types[1]
        self.individual_types = [
            a for a in self.types if a["max_attendees"] == 1 and a is not self.initial_type
        ]
        self.report_item = self.add(
            "billable_items",
            t0 + 1200,
            "setup",
            name="Report writing",
            item_code="REP",
            item_type="Other",
            price="150.0",
            tax_id=self.gst["id"],
        )
        self.dna_item = self.add(
            "billable_items",
            t0 + 1260,
            "setup",
            name="Late cancellation / DNA fee",
            item_code="DNA",
            item_type="Other",
            price="45.0",
            tax_id=self.gst_free["id"],
        )
        products = [
            ("Theraband (red, per metre)", "TB-R", 400, 150, "Physio Supplies Co"),
            ("Hot/cold pack", "HCP", 2495, 900, "Physio Supplies Co"),
            ("Foam roller 90 cm", "FR90", 4500, 1800, "Active Gear Pty Ltd"),
            ("Kinesiology tape", "KT5", 1995, 700, ""),
        ]
        self.products = []
        for i, (name, code, price, cost, supplier) in enumerate(products):
            self.products.append(
                self.add(
                    "products",
                    t0 + 1400 + i * 60,
                    "setup",
                    name=name,
                    item_code=code,
                    serial_number="SN-%05d" % int(rng.random() * 100000),
                    notes="",
                    product_supplier_name=supplier,
                    cost_price=money(cost),
                    price_ex_tax=money(price),
                    price_including_tax=money(price + price // 10),
                    stock_level=rng.randrange(0, 60),
                    tax_id=self.gst["id"],
                )
            )
        for business in self.businesses:
            business["appointment_type_ids"] = [a["id"] for a in self.types if not a["archived_at"]]

    def make_staff(self, t0):
        rng = self.rng
        owner = self.add(
            "users",
            t0 + 2000,
            "setup",
            first_name="Dana",
            last_name="Whitfield",
            email="manager@" + self.mail_domain,
            role="administrator",
        )
        self.clinic.key_owner_id = owner["id"]
        self.owner = owner
        self.add(
            "users",
            t0 + 2100,
            "setup",
            first_name="Kylie",
            last_name="Nguyen",
            email="reception@" + self.mail_domain,
            role="receptionist",
        )
        count = 4 + int(rng.random() * 5)  # 4..8
        pool = rng.sample(PRACTITIONER_POOL, count)
        inactive = 2 if count >= 6 else 1
        self.practitioners, self.active_practitioners = [], []
        for i, (title, first, last, designation) in enumerate(pool):
            t = t0 + 2200 + i * 120
            is_active = i < count - inactive
            email = "%s.%s@%s" % (first.lower(), last.lower().replace("'", ""), self.mail_domain)
            if i == 1:
                email = None  # a locum who never set one: matches no Odoo user
            elif i == 2:
                email = " %s.%s+Cliniko@Gmail.Example.COM " % (first, last.replace("'", ""))
            user = self.add(
                "users",
                t,
                "setup",
                title=title,
                first_name=first,
                last_name=last,
                email=email,
                role="administrator" if i == 0 else "practitioner",
                user_active=is_active,
                active=is_active,
                updated=PRACTITIONERS_LEFT_AT if not is_active else None,
            )
            label = "%s %s" % (first, last)
            practitioner = self.add(
                "practitioners",
                t,
                "setup",
                title=title,
                first_name=first,
                last_name=last,
                label=label,
                display_name=" ".join(filter(None, [title, first, last])),
                designation=designation,
                description=None
                if i % 2
                else "%s has a special interest in sports injuries." % first,
                show_in_online_bookings=is_active,
                active=is_active,
                default_appointment_type_id=self.standard_type["id"],
                user_id=user["id"],
                updated=PRACTITIONERS_LEFT_AT if not is_active else None,
            )
            self.practitioners.append(practitioner)
            if is_active:
                self.active_practitioners.append(practitioner)
            else:
                self.edge.setdefault("inactive_practitioner", practitioner["id"])
            if i == 1:
                self.edge["practitioner_without_email"] = practitioner["id"]
            elif i == 2:
                self.edge["practitioner_unusual_email"] = practitioner["id"]
            for business in self.businesses:
                if business["country_code"] == "AU":
                    self.add(
                        "practitioner_reference_numbers",
                        t + 30,
                        "setup",
                        reference_number=self.provider_number(),
                        business_id=business["id"],
                        practitioner_id=practitioner["id"],
                    )

    def make_misc(self, t0):
        self.concessions = [
            self.add("concession_types", t0 + 6000 + i * 60, "setup", name=name)
            for i, name in enumerate(["Pensioner", "Student", "Health Care Card"])
        ]
        rst = {}
        for i, (name, referrer, subs) in enumerate(
            [
                ("Client", "Patient", None),
                ("Contact", "Contact", None),
                ("Other", None, None),
                ("Internet", None, ["Google", "Facebook", "Instagram"]),
            ]
        ):
            rst[name] = self.add(
                "referral_source_types",
                t0 + 6500 + i * 60,
                "setup",
                name=name,
                referrer_type=referrer,
                subcategories=subs,
            )
        self.referral_types = rst

    def make_settings(self):
        rng = self.rng
        tokens = [self.token() for _ in range(20)]
        providers = ["Bupa", "Medibank", "HCF", "nib", "Great Insurance"]
        heard = ["Google", "Friend or family", "Doctor referral", "Instagram", "Walked past"]

        def choices(name, kind, token, options, first_option_token):
            return {
                "name": name,
                "type": kind,
                "token": tokens[token],
                "other": {"enabled": True},
                "options": [
                    {"name": n, "token": tokens[first_option_token + i]}
                    for i, n in enumerate(options)
                ],
            }

        self.custom_definition = {
            "sections": [
                {
                    "name": "Insurance coverage",
                    "token": tokens[0],
                    "fields": [
                        choices("Provider", "radiobuttons", 1, providers, 2),
                        {"name": "Policy number", "type": "text", "token": tokens[7]},
                        {
                            "name": "Old fund code",
                            "type": "text",
                            "token": tokens[8],
                            "archived": True,
                        },
                    ],
                },
                {
                    "name": "About you",
                    "token": tokens[9],
                    "fields": [
                        choices("How did you hear about us", "checkboxes", 10, heard, 11),
                        {"name": "GP consent date", "type": "date", "token": tokens[16]},
                        {
                            "name": "Anything else we should know?",
                            "type": "paragraph",
                            "token": tokens[17],
                        },
                    ],
                },
            ]
        }
        owner = self.owner
        self.clinic.settings = {
            "terminology": {"patient": "patient"},
            "account": {
                "id": str(rng.randrange(10**17, 10**18)),
                "name": self.clinic_name,
                "country": "Australia",
                "time_zone": "Melbourne",
                "currency_symbol": "$",
                "subdomain": self.clinic.subdomain,
                "email_from": "reception@" + self.mail_domain,
                "admin": {
                    "email": owner["email"],
                    "first_name": owner["first_name"],
                    "last_name": owner["last_name"],
                },
            },
            "calendar": {
                "start_hour": 7,
                "end_hour": 20,
                "timeslot_height_in_pixels": 15,
                "timeslot_size_in_minutes": 15,
                "show_current_time_indicator": True,
                "multiple_appointments_gap": False,
            },
            "online_bookings": {
                "adroll": {"advertiser_id": None, "pixel_id": None},
                "calendar_info": None,
                "enabled": True,
                "google_analytics": {"tracking_id": None},
                "logo_url": None,
                "max_appointments_per_day_segment": 5,
                "min_hours_advance_required_to_book": 2,
                "min_hours_notice_for_patient_cancellation": 24,
                "notify_practitioner_by_email": True,
                "notify_practitioner_by_sms": False,
                "policy": "Cancellations with less than 24 hours' notice may incur a fee.",
                "practitioner_order": [p["id"] for p in self.active_practitioners],
                "require_patient_address": False,
                "show_appointment_duration": True,
                "show_prices": True,
            },
            "patient_custom_fields_definition": self.custom_definition,
            "reminders": {"default_reminder_type": "SMS & Email"},
        }
