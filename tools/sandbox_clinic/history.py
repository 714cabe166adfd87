"""Generator: clinical and message history: treatment note content and notes, patient
form content and forms, and communications (reminders, confirmations, invoices, memos).
"""

from .formats import DAY, DEFAULT_NOW, iso, iso_date, parse_iso
from .schema import COMMUNICATION_CATEGORIES, COMMUNICATION_TYPES
from .vocabulary import COMPLAINTS, LONG_NOTE_SENTENCES, REGIONS, TREATMENTS


class History:
    """Treatment notes, patient forms and communications."""

    def note_content(self, when, template=False, initial=False, draft=False, long_text=None):
        rng = self.rng
        first = "Initial assessment" if initial else "Subjective"
        if template:
            return {
                "sections": [
                    {
                        "name": first,
                        "questions": [
                            {
                                "name": "Presenting complaint",
                                "type": "paragraph",
                                "answer": "<div>Onset, aggravating &amp; easing factors:</div>",
                            },
                            {"name": "Pain score (0-10)", "type": "text"},
                        ],
                    },
                    {
                        "name": "Objective",
                        "questions": [
                            {
                                "name": "Regions treated",
                                "type": "checkboxes",
                                "answers": [{"value": r} for r in REGIONS],
                            },
                            {
                                "name": "Red flags screened",
                                "type": "radiobuttons",
                                "answers": [{"value": "Yes"}, {"value": "No"}],
                            },
                        ],
                    },
                    {
                        "name": "Plan",
                        "questions": [
                            {"name": "Treatment provided", "type": "paragraph"},
                            {"name": "Next review", "type": "date"},
                        ],
                    },
                ]
            }
        pain = 1 + int(rng.random() * 9)
        picked = int(rng.random() * (len(REGIONS)))
        sections = [
            {
                "name": first,
                "questions": [
                    {
                        "name": "Presenting complaint",
                        "type": "paragraph",
                        "answer": "<div>%s. Pain %d/10 at worst, &lt; %d/10 at rest.</div>"
                        % (rng.choice(COMPLAINTS), pain, max(pain - 3, 0)),
                    },
                    {"name": "Pain score (0-10)", "type": "text", "answer": str(pain)},
                ],
            }
        ]
        if draft:
            return {"sections": sections}
        sections.append(
            {
                "name": "Objective",
                "questions": [
                    {
                        "name": "Regions treated",
                        "type": "checkboxes",
                        "answers": [
                            {"value": r, "selected": True} if i == picked else {"value": r}
                            for i, r in enumerate(REGIONS)
                        ],
                    },
                    {
                        "name": "Red flags screened",
                        "type": "radiobuttons",
                        "answers": [{"value": "Yes", "selected": True}, {"value": "No"}],
                    },
                ],
            }
        )
        plan = long_text or "<div>%s</div><div>HEP reviewed.<br>Review in %d weeks.</div>" % (
            rng.choice(TREATMENTS),
            1 + int(rng.random() * 4),
        )
        sections.append(
            {
                "name": "Plan",
                "questions": [
                    {"name": "Treatment provided", "type": "paragraph", "answer": plan},
                    {"name": "Next review", "type": "date", "answer": iso_date(when + 14 * DAY)},
                ],
            }
        )
        return {"sections": sections}

    def long_text(self):
        rng = self.rng
        target = rng.randint(50_000, 200_000)
        order = rng.sample(LONG_NOTE_SENTENCES, len(LONG_NOTE_SENTENCES))
        block = "".join("<div>%s</div>" % s for s in order)
        return block * (target // len(block) + 1)

    def form_content(self, signature_id, symptoms=()):
        questions = [
            {"name": "Please describe your medical history.", "type": "paragraph", "required": True}
        ]
        options = ["Fever", "Headache", "Dizziness", "Numbness or tingling", "Night pain"]
        checkboxes = {
            "name": "Which of the following symptoms do you suffer from?",
            "type": "checkboxes",
            "required": False,
            "answers": [
                {"value": o, "selected": True} if o in symptoms else {"value": o} for o in options
            ],
        }
        signature = {
            "name": "I accept the above privacy policy",
            "type": "signature",
            "required": True,
        }
        if signature_id:
            questions[0]["answer"] = "<div>%s</div>" % self.rng.choice(
                [
                    "Nil significant.",
                    "Asthma (childhood). Appendix out 2009.",
                    "High blood pressure — on medication.",
                    "Broken wrist 2015, fully healed.",
                ]
            )
            signature["signature_id"] = signature_id
        return {
            "sections": [
                {"name": "Medical History", "questions": questions},
                {"name": "Current Condition", "questions": [checkboxes]},
                {
                    "name": "Privacy Policy",
                    "questions": [signature],
                    "description": "<div>We keep your personal information private.</div>",
                },
            ]
        }

    def note(self, patient, t, prac, booking, *, draft, attendee=None, long=False, initial=False):
        rng = self.rng
        prac = prac or self.practitioners[int(rng.random() * (len(self.practitioners)))]
        t = min(t, DEFAULT_NOW - 20)
        content = self.note_content(
            t, initial=initial, draft=draft, long_text=self.long_text() if long else None
        )
        finalized = None if draft else min(t + int(rng.random() * 3600), DEFAULT_NOW - 10)
        template = self.initial_template if initial else self.soap_template
        return self.add(
            "treatment_notes",
            t,
            "notes",
            updated=finalized or t,
            title=template["name"] if booking else "Phone consultation",
            content=content,
            draft=draft,
            author_name=prac["label"],
            patient_id=patient["id"],
            practitioner_id=prac["id"],
            treatment_note_template_id=template["id"],
            booking_id=booking,
            attendee_id=attendee,
            finalized_at=iso(finalized),
        )

    def communication(
        self,
        patient,
        t,
        category,
        type_code,
        *,
        content=None,
        to=None,
        sender=None,
        subject=None,
        direction=1,
        booking=None,
        attendee=None,
        invoice=None,
        confidential=None,
    ):
        if t >= DEFAULT_NOW:
            return None
        fields = dict(
            category=COMMUNICATION_CATEGORIES[category],
            category_code=category,
            type=COMMUNICATION_TYPES[type_code],
            type_code=type_code,
            direction_code=direction,
            direction_description="Sent" if direction == 1 else "Received",
            to=to,
            content=content,
            patient_id=patient["id"],
            booking_id=booking,
            attendee_id=attendee,
            invoice_id=invoice,
        )
        fields["from"] = sender
        if type_code == 2:
            fields["content_subject"] = subject
        if category == 12:
            fields["confidential"] = bool(confidential)
        return self.add("communications", int(t), "comms", **fields)

    def patient_form(self, patient, first_booking):
        rng = self.rng
        appointment, attendee, _ = first_booking
        start = parse_iso(appointment["starts_at"])
        created = parse_iso(appointment["created_at"])
        t = min(created + 120, DEFAULT_NOW - 120)
        completed = rng.random() < 0.9 and min(start, DEFAULT_NOW) > t + 3600
        done = (
            t + int(rng.random() * (max(int(min(start, DEFAULT_NOW) - t), 3600)))
            if completed
            else None
        )
        signature = str(self.new_id(done, "other")) if completed else None
        symptoms = ["Headache"] if rng.random() < 0.3 else []
        self.add(
            "patient_forms",
            t,
            "other",
            updated=done or t,
            name="New Patient Intake",
            restricted_to_practitioner=rng.random() < 0.2,
            url="https://%s.%s.cliniko.com/f/?%x"
            % (self.clinic.subdomain, self.clinic.shard, rng.getrandbits(120)),
            completed_at=iso(done),
            content=self.form_content(signature, symptoms),
            signatures=[signature] if signature else None,
            patient_id=patient["id"],
            attendee_id=attendee["id"],
            booking_id=appointment["id"],
        )
