"""Treatment notes, communications and patient forms migrated as chatter history on the leads."""

from lxml import html as lxml_html

from ..migration.history import HISTORY_RESOURCES, history_message_id
from ..migration.values import link_id, parse_datetime
from .common import ClinikoSandboxCase, outside_runs

SENT_MODELS = ("mail.mail", "mail.notification", "mail.followers", "mail.activity", "sms.sms")


def text_of(html):
    """The text content of an HTML fragment, whitespace collapsed (lxml, not our renderer)."""
    if not html or not str(html).strip():
        return ""
    return " ".join(lxml_html.fromstring("<div>%s</div>" % html).text_content().split())


class HistoryCase(ClinikoSandboxCase):
    """A sandbox clinic and helpers to find what the migration made of its history."""

    @classmethod
    def run_values(cls, **values):
        values.setdefault("unmatched_practitioners", "placeholder")
        return values

    @classmethod
    def migrate_clinic(cls, **values):
        run = cls.env["cliniko.migration.run"].create(
            dict(
                {"connection_id": cls.connection.id, "cliniko_accept_proposed_map": True},
                **cls.run_values(**values),
            )
        )
        run.action_start()
        return run

    @property
    def clinic(self):
        return self.sandbox.clinic

    def source(self, resource, cliniko_id):
        return self.clinic.get(resource, cliniko_id)

    def sources(self, resource):
        return {rid: self.source(resource, rid) for rid in self.clinic.resources[resource]}

    def message(self, resource, cliniko_id, role="patient"):
        return self.env["mail.message"].search(
            [
                (
                    "message_id",
                    "=",
                    history_message_id(self.connection, resource, cliniko_id, role),
                )
            ]
        )

    def history_messages(self):
        ids = [
            history_message_id(self.connection, resource, cliniko_id, role)
            for resource in HISTORY_RESOURCES
            for cliniko_id in self.clinic.resources[resource]
            for role in ("patient", "appointment")
        ]
        return self.env["mail.message"].search([("message_id", "in", ids)])

    def patient_lead(self, patient_id):
        return (
            self.env["crm.lead"]
            .with_context(active_test=False)
            .search(
                [
                    ("cliniko_lead_kind", "=", "patient"),
                    ("partner_id.cliniko_patient_id", "=", patient_id),
                ]
            )
        )

    def migrated_patient_ids(self):
        return set(self.migrated_partners().mapped("cliniko_patient_id"))

    def bound(self, resource, cliniko_id):
        ref = self.env["cliniko.external.ref"].search(
            [
                ("connection_id", "=", self.connection.id),
                ("resource", "=", resource),
                ("cliniko_id", "=", cliniko_id),
            ]
        )
        return self.env[ref.res_model].browse(ref.res_id).exists() if ref else None

    def audit_lines(self, run, resource, cliniko_id):
        return run.audit_ids.filtered(
            lambda line: line.resource == resource and line.cliniko_id == cliniko_id
        )

    @classmethod
    def row_counts(cls, models):
        return {
            model: cls.env[model]
            .sudo()
            .with_context(active_test=False)
            .search_count(outside_runs(model))
            for model in models
            if model in cls.env
        }


class TestHistoryMigration(HistoryCase):
    """One migration of a clinic with planted history edge cases; each test reads the result."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        clinic = cls.sandbox.clinic
        edge = clinic.edge_cases
        notes = clinic.resources["treatment_notes"]
        regular = edge["regular_patient"]
        practitioner = notes[edge["unlinked_treatment_note"]]["practitioner_id"]
        content = {
            "sections": [{"questions": [{"name": "Plan", "type": "text", "answer": "Rest"}]}]
        }
        # A note of a patient deleted in Cliniko (the patient is not migrated).
        cls.note_of_deleted_patient = clinic.create(
            "treatment_notes",
            title="Follow-up",
            content=content,
            author_name="Someone",
            patient_id=edge["deleted_patient"],
            practitioner_id=practitioner,
        )["id"]
        # A note whose appointment was deleted in Cliniko afterwards.
        cls.note_of_deleted_appointment = next(
            note_id
            for note_id, note in sorted(notes.items())
            if note["booking_id"]
            and note_id != edge["long_treatment_note"]
            and note["booking_id"] in clinic.resources["individual_appointments"]
            and note["patient_id"] != regular
        )
        clinic.delete(
            "individual_appointments", notes[cls.note_of_deleted_appointment]["booking_id"]
        )
        # A form sent but never filled in, an SMS reply, a letter and an archived memo.
        cls.uncompleted_form = clinic.create(
            "patient_forms", name="New Patient Intake", patient_id=regular, content=None
        )["id"]
        cls.sms_reply = clinic.create(
            "communications",
            category="Reply from Patient",
            category_code=8,
            type="SMS",
            type_code=1,
            direction_code=2,
            direction_description="Received",
            to="FitzroyPhysio",
            content="Running 5 min late <sorry>",
            patient_id=regular,
            **{"from": "+61400000000"},
        )["id"]
        cls.letter = clinic.create(
            "communications",
            category="Letter",
            category_code=5,
            type="Other",
            type_code=4,
            direction_code=1,
            direction_description="Sent",
            content="Dear Dr Patel,\nThank you for the referral.",
            patient_id=regular,
        )["id"]
        # A note whose answer carries markup that must not reach the chatter.
        cls.note_with_script = clinic.create(
            "treatment_notes",
            title="Imported",
            content={
                "sections": [
                    {
                        "questions": [
                            {
                                "name": "Plan",
                                "type": "paragraph",
                                "answer": '<div onclick="x()">Rest<script>alert(1)</script>'
                                '<img src="x" onerror="alert(2)"><a href="javascript:y()">'
                                "link</a></div>",
                            }
                        ]
                    }
                ]
            },
            author_name="Someone",
            patient_id=regular,
            practitioner_id=practitioner,
        )["id"]
        cls.counts_before = cls.row_counts(SENT_MODELS)
        cls.history_run = cls.migrate_clinic()

    def test_the_run_finishes_and_counters_add_up(self):
        self.assertEqual(self.history_run.state, "done", self.history_run.error_message)
        self.assertCountersAddUp(self.history_run)
        for resource in HISTORY_RESOURCES:
            self.assertIn(resource, self.history_run.summary()["resources"])

    def test_notes_counters_match_what_cliniko_holds(self):
        notes = self.sources("treatment_notes")
        migrated = self.migrated_patient_ids()
        deleted = {nid for nid, note in notes.items() if note.get("deleted_at")}
        orphans = {
            nid
            for nid, note in notes.items()
            if nid not in deleted and link_id(note["patient"]) not in migrated
        } | {self.note_of_deleted_appointment}
        counts = self.history_run.summary()["resources"]["treatment_notes"]
        self.assertEqual(counts["fetched"], len(notes) - len(deleted))  # deleted: not listed
        self.assertEqual(counts["skipped"], 0)
        self.assertEqual(counts["failed"], len(orphans))
        self.assertEqual(counts["created"], len(notes) - len(deleted) - len(orphans))

    def test_each_note_is_a_chatter_note_on_its_patients_lead_field_by_field(self):
        checked = 0
        for note_id, note in self.sources("treatment_notes").items():
            message = self.message("treatment_notes", note_id)
            if not message or note_id == self.note_with_script:  # checked on its own
                continue
            checked += 1
            with self.subTest(note=note_id):
                lead = self.patient_lead(link_id(note["patient"]))
                self.assertEqual((message.model, message.res_id), ("crm.lead", lead.id))
                self.assertEqual(message.date, parse_datetime(note["created_at"]))
                self.assertEqual(message.message_type, "comment")
                self.assertEqual(message.subtype_id, self.env.ref("mail.mt_note"))
                self.assertTrue(message.is_internal)
                self.assertEqual(message.cliniko_note_state, "draft" if note["draft"] else "final")
                self.assertEqual(self.bound("treatment_notes", note_id), message)
                user = self.bound("practitioners", link_id(note["practitioner"]))
                expected_author = user.partner_id if user else self.env.ref("base.partner_root")
                self.assertEqual(message.author_id, expected_author)
                body = text_of(message.body)
                self.assertIn(note["title"], body)
                self.assertIn(note["author_name"], body)
                for section in note["content"]["sections"]:
                    self.assertIn(section.get("name") or "", body)
                    for question in section["questions"]:
                        self.assertIn(question["name"], body)
                        if question["type"] == "paragraph":
                            self.assertIn(text_of(question["answer"]), body)
                        elif question.get("answers"):
                            for answer in question["answers"]:
                                if answer.get("selected"):
                                    self.assertIn(answer["value"], body)
                        elif question.get("answer"):
                            self.assertIn(question["answer"], body)
        self.assertGreater(checked, 5)

    def test_the_long_note_is_complete_and_in_one_message(self):
        note_id = self.clinic.edge_cases["long_treatment_note"]
        note = self.source("treatment_notes", note_id)
        long_answer = max(
            (q.get("answer") or "" for s in note["content"]["sections"] for q in s["questions"]),
            key=len,
        )
        self.assertGreater(len(long_answer), 50_000)
        messages = self.env["mail.message"].search(
            [("message_id", "like", ".treatment_notes.%s." % note_id)]
        )
        self.assertEqual(len(messages), 2, "one on the patient's lead, one on the appointment's")
        source_text = text_of(long_answer)
        for message in messages:
            body = text_of(message.body)
            self.assertIn(source_text, body)
            self.assertGreaterEqual(len(body), len(source_text))

    def test_a_draft_note_is_marked_draft(self):
        message = self.message("treatment_notes", self.clinic.edge_cases["draft_treatment_note"])
        self.assertEqual(message.cliniko_note_state, "draft")
        self.assertTrue(text_of(message.body).startswith("Draft"))
        final = self.message("treatment_notes", self.clinic.edge_cases["unlinked_treatment_note"])
        self.assertEqual(final.cliniko_note_state, "final")
        self.assertTrue(text_of(final.body).startswith("Final"))

    def test_a_note_of_a_migrated_appointment_is_copied_on_the_appointment_lead(self):
        copies = 0
        for note_id, note in self.sources("treatment_notes").items():
            booking = link_id(note.get("booking"))
            appointment_lead = booking and self.bound("individual_appointments", booking)
            if not appointment_lead or appointment_lead._name != "crm.lead":
                continue
            with self.subTest(note=note_id):
                original = self.message("treatment_notes", note_id)
                copy = self.message("treatment_notes", note_id, "appointment")
                self.assertEqual((copy.model, copy.res_id), ("crm.lead", appointment_lead.id))
                self.assertEqual(appointment_lead.cliniko_lead_kind, "appointment")
                self.assertNotEqual(copy.res_id, original.res_id)
                self.assertEqual(copy.body, original.body)
                self.assertEqual(copy.date, original.date)
                self.assertEqual(copy.author_id, original.author_id)
                audited = self.audit_lines(self.history_run, "treatment_notes", note_id).filtered(
                    lambda line: line.action == "create" and line.res_model == "mail.message"
                )
                self.assertEqual(set(audited.mapped("res_id")), {original.id, copy.id})
                copies += 1
        self.assertGreater(copies, 3, "the appointments importer bound no appointment lead")

    def test_a_note_without_appointment_is_only_on_the_patients_lead(self):
        note_id = self.clinic.edge_cases["unlinked_treatment_note"]
        self.assertTrue(self.message("treatment_notes", note_id))
        self.assertFalse(self.message("treatment_notes", note_id, "appointment"))

    def test_a_deleted_note_is_not_migrated(self):
        # SPEC §2.10 lists no deleted_at filter for notes: Cliniko does not list deleted ones
        note_id = self.clinic.edge_cases["deleted_treatment_note"]
        self.assertFalse(self.message("treatment_notes", note_id))
        self.assertFalse(self.audit_lines(self.history_run, "treatment_notes", note_id))

    def test_a_note_whose_patient_was_not_migrated_fails_with_the_reason(self):
        self.assertFalse(self.message("treatment_notes", self.note_of_deleted_patient))
        line = self.audit_lines(self.history_run, "treatment_notes", self.note_of_deleted_patient)
        self.assertEqual(line.action, "fail")
        self.assertIn(
            "patient %s was not migrated" % self.clinic.edge_cases["deleted_patient"], line.message
        )

    def test_a_note_whose_appointment_is_gone_fails_with_the_reason(self):
        note_id = self.note_of_deleted_appointment
        booking = self.clinic.resources["treatment_notes"][note_id]["booking_id"]
        self.assertFalse(self.message("treatment_notes", note_id))
        line = self.audit_lines(self.history_run, "treatment_notes", note_id)
        self.assertEqual(line.action, "fail")
        self.assertIn("appointment %s is gone from Cliniko" % booking, line.message)

    def test_the_patient_lead_shows_a_summary_of_its_latest_final_note(self):
        by_patient = {}
        for note_id, note in self.sources("treatment_notes").items():
            if note["draft"] or not self.message("treatment_notes", note_id):
                continue
            patient = link_id(note["patient"])
            if patient not in by_patient or note["created_at"] > by_patient[patient]["created_at"]:
                by_patient[patient] = note
        self.assertTrue(by_patient)
        for patient, note in by_patient.items():
            with self.subTest(patient=patient):
                lead = self.patient_lead(patient)
                self.assertEqual(lead.cliniko_last_note_date, parse_datetime(note["created_at"]))
                summary = lead.cliniko_last_note_summary
                self.assertLessEqual(len(summary), 300)
                self.assertTrue(summary.startswith(note["title"]))
                first = note["content"]["sections"][0]["questions"][0]
                self.assertIn(first["name"], summary)

    def test_history_is_in_date_order_by_id_on_every_lead(self):
        messages = self.history_messages()
        by_lead = {}
        for message in messages.sorted("id"):
            by_lead.setdefault(message.res_id, []).append(message)
        mixed = 0
        for lead_id, lead_messages in by_lead.items():
            dates = [message.date for message in lead_messages]
            self.assertEqual(dates, sorted(dates), "lead %s is out of order" % lead_id)
            kinds = {message.message_id.split(".")[2] for message in lead_messages}
            mixed += kinds == set(HISTORY_RESOURCES)
        self.assertTrue(mixed, "no lead holds notes, messages and forms together")

    def test_communications_counters_match_what_cliniko_holds(self):
        messages = self.sources("communications")
        migrated = self.migrated_patient_ids()
        expected = {
            mid
            for mid, message in messages.items()
            if not message.get("deleted_at") and link_id(message["patient"]) in migrated
        }
        counts = self.history_run.summary()["resources"]["communications"]
        self.assertEqual(counts["fetched"], len(messages))
        self.assertEqual(counts["created"], len(expected))
        for message_id in expected:
            self.assertTrue(self.message("communications", message_id), message_id)

    def test_communications_keep_date_direction_channel_and_content(self):
        for message_id, source in self.sources("communications").items():
            message = self.message("communications", message_id)
            if not message:
                continue
            with self.subTest(communication=message_id):
                lead = self.patient_lead(link_id(source["patient"]))
                self.assertEqual(message.res_id, lead.id)
                self.assertEqual(message.date, parse_datetime(source["created_at"]))
                self.assertTrue(message.is_internal)
                body = text_of(message.body)
                self.assertIn(source["type"], body)
                self.assertIn(source["direction_description"], body)
                for key in ("from", "to", "content"):
                    if source.get(key):  # compared without spaces: lxml joins lines as one
                        self.assertIn("".join(source[key].split()), "".join(body.split()))
                received = source["direction_code"] == 2
                self.assertEqual(
                    message.author_id,
                    lead.partner_id if received else self.clinic_partner(),
                )

    def clinic_partner(self):
        """The author of what the clinic sent: its business, else the company."""
        location = self.connection._cliniko_main_location()
        return location.partner_id or self.connection.company_id.partner_id

    def test_an_sms_is_an_sms_message(self):
        reminder = next(
            mid for mid, m in self.sources("communications").items() if m["type_code"] == 1
        )
        for message_id in (reminder, self.sms_reply):
            message = self.message("communications", message_id)
            self.assertEqual(message.message_type, "sms")
            self.assertEqual(message.subtype_id, self.env.ref("mail.mt_note"))
            self.assertFalse(message.mail_activity_type_id)
        reply = self.message("communications", self.sms_reply)
        self.assertIn("Running 5 min late <sorry>", text_of(reply.body))

    def test_a_phone_call_memo_carries_the_call_activity_type(self):
        message = self.message("communications", self.clinic.edge_cases["memo_communication"])
        self.assertEqual(message.message_type, "comment")
        self.assertEqual(
            message.mail_activity_type_id, self.env.ref("mail.mail_activity_data_call")
        )
        self.assertEqual(message.subtype_id, self.env.ref("mail.mt_activities"))
        self.assertIn("Phone call", text_of(message.body))

    def test_an_email_keeps_its_subject_and_the_email_activity_type(self):
        emails = {
            mid: m for mid, m in self.sources("communications").items() if m["type_code"] == 2
        }
        self.assertTrue(emails)
        for message_id, source in emails.items():
            message = self.message("communications", message_id)
            self.assertEqual(message.subject, source["content_subject"])
            self.assertEqual(message.message_type, "comment")
            self.assertEqual(
                message.mail_activity_type_id, self.env.ref("mail.mail_activity_data_email")
            )
            self.assertEqual(message.subtype_id, self.env.ref("mail.mt_activities"))

    def test_a_letter_is_an_internal_note(self):
        message = self.message("communications", self.letter)
        self.assertEqual(message.message_type, "comment")
        self.assertEqual(message.subtype_id, self.env.ref("mail.mt_note"))
        self.assertFalse(message.mail_activity_type_id)
        self.assertIn("Dear Dr Patel,", message.body)
        self.assertIn("Thank you for the referral.", text_of(message.body))

    def test_nothing_is_sent_and_nobody_is_notified(self):
        after = self.row_counts(SENT_MODELS)
        self.assertEqual(after, {m: self.counts_before[m] for m in after})
        messages = self.history_messages()
        self.assertTrue(messages)
        self.assertFalse(messages.notification_ids)
        self.assertFalse(messages.partner_ids)
        self.assertFalse(messages.tracking_value_ids)

    def test_a_completed_form_is_a_note_with_its_answers_signature_and_link(self):
        forms = {fid: f for fid, f in self.sources("patient_forms").items() if f["completed_at"]}
        self.assertTrue(forms)
        for form_id, form in forms.items():
            with self.subTest(form=form_id):
                message = self.message("patient_forms", form_id)
                lead = self.patient_lead(link_id(form["patient"]))
                self.assertEqual(message.res_id, lead.id)
                self.assertEqual(message.author_id, lead.partner_id)
                self.assertEqual(message.date, parse_datetime(form["created_at"]))
                self.assertEqual(message.subtype_id, self.env.ref("mail.mt_note"))
                self.assertIn('href="%s"' % form["url"], message.body)
                body = text_of(message.body)
                self.assertIn(form["name"], body)
                for section in form["content"]["sections"]:
                    for question in section["questions"]:
                        self.assertIn(question["name"], body)
                        if question["type"] == "signature":
                            self.assertIn("Signed (signature %s)" % question["signature_id"], body)
                        elif question.get("answer"):
                            self.assertIn(text_of(question["answer"]), body)

    def test_a_form_never_completed_is_skipped_with_the_reason(self):
        self.assertFalse(self.message("patient_forms", self.uncompleted_form))
        line = self.audit_lines(self.history_run, "patient_forms", self.uncompleted_form)
        self.assertEqual(line.action, "skip")
        self.assertEqual(line.message, "not completed")

    def test_markup_from_cliniko_is_sanitised(self):
        message = self.message("treatment_notes", self.note_with_script)
        self.assertIn("Rest", text_of(message.body))
        for unsafe in ("<script", "alert", "onerror", "onclick", "<img", "javascript:"):
            self.assertNotIn(unsafe, message.body)
        for message in self.history_messages():
            self.assertNotIn("<script", message.body)


class TestHistoryReruns(HistoryCase):
    """A whole clinic migrated once for the class, practitioners left without users; each
    test reads the result, runs again or rolls the run back (each test runs in a savepoint)."""

    sandbox_options = {"seed": 3, "patients": 12}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.counts_before = cls.row_counts(("mail.message", "ir.attachment", "crm.lead"))
        cls.sent_before = cls.row_counts(SENT_MODELS + ("bus.bus",))
        # Without placeholder users (whose creation joins them to Discuss channels), a whole
        # migration puts nothing on the bus either.
        cls.unassigned_run = cls.migrate_clinic(unmatched_practitioners="unassigned")

    def test_running_again_creates_no_new_history(self):
        first = self.unassigned_run
        counts = self.row_counts(("mail.message", "ir.attachment", "cliniko.external.ref"))
        second = self.migrate_clinic(unmatched_practitioners="unassigned")
        self.assertEqual(second.state, "done", second.error_message)
        self.assertEqual(
            self.row_counts(("mail.message", "ir.attachment", "cliniko.external.ref")), counts
        )
        for resource in HISTORY_RESOURCES:
            before = first.summary()["resources"][resource]
            again = second.summary()["resources"][resource]
            self.assertGreater(before["created"], 0, resource)
            self.assertEqual(again["created"], 0, resource)
            self.assertEqual(again["updated"], 0, resource)
            self.assertEqual(again["fetched"], before["fetched"], resource)
        self.assertCountersAddUp(second)

    def test_a_note_finalised_in_cliniko_is_updated_in_place(self):
        note_id = self.clinic.edge_cases["draft_treatment_note"]
        message = self.message("treatment_notes", note_id)
        old_body = message.body
        self.assertEqual(message.cliniko_note_state, "draft")
        # the sandbox is shared by the class: the note is put back after the test
        self.addCleanup(self.clinic.touch)
        self.addCleanup(
            self.clinic.resources["treatment_notes"][note_id].update,
            dict(self.clinic.resources["treatment_notes"][note_id]),
        )
        self.clinic.tick(60)
        self.clinic.update(
            "treatment_notes", note_id, draft=False, finalized_at=self.clinic.now_iso()
        )
        # only the notes (and what they depend on) are read again
        run = self.migrate_clinic(resources="treatment_notes")
        counts = run.summary()["resources"]["treatment_notes"]
        self.assertEqual((counts["created"], counts["updated"]), (0, 1))
        self.assertEqual(self.message("treatment_notes", note_id), message)
        self.assertEqual(message.cliniko_note_state, "final")
        self.assertTrue(text_of(message.body).startswith("Final"))
        line = run.audit_ids.filtered(
            lambda a: (
                a.action == "update" and a.res_model == "mail.message" and a.res_id == message.id
            )
        )
        self.assertEqual(len(line), 1)
        self.assertEqual(line.previous_values["values"]["cliniko_note_state"], "draft")
        self.assertEqual(line.previous_values["values"]["body"], old_body)
        run.action_rollback()
        self.assertEqual(message.cliniko_note_state, "draft")
        self.assertEqual(message.body, old_body)

    def test_rollback_returns_messages_attachments_and_leads_to_before(self):
        # the class's run is rolled back here
        before, run = self.counts_before, self.unassigned_run
        self.assertGreater(
            self.row_counts(("mail.message",))["mail.message"], before["mail.message"]
        )
        self.assertGreater(
            self.row_counts(("ir.attachment",))["ir.attachment"], before["ir.attachment"]
        )
        run.action_rollback()
        self.assertEqual(run.state, "rolled_back")
        self.assertEqual(self.row_counts(("mail.message", "ir.attachment", "crm.lead")), before)
        self.assertFalse(self.history_messages())
        failed = run.audit_ids.filtered(lambda a: a.is_rollback and a.action == "fail")
        self.assertFalse(failed, failed.mapped("message"))

    def test_the_bus_carries_nothing_about_the_history(self):
        # counted in setUpClass, before the run
        before, run = self.sent_before, self.unassigned_run
        self.assertEqual(run.state, "done", run.error_message)
        self.assertTrue(self.history_messages())
        self.assertEqual(self.row_counts(SENT_MODELS + ("bus.bus",)), before)

    def test_without_practitioner_users_notes_are_by_odoobot_and_name_the_practitioner(self):
        checked = 0
        for note_id, note in self.sources("treatment_notes").items():
            message = self.message("treatment_notes", note_id)
            if not message or self.bound("practitioners", link_id(note["practitioner"])):
                continue
            with self.subTest(note=note_id):
                self.assertEqual(message.author_id, self.env.ref("base.partner_root"))
                self.assertIn(
                    "Written in Cliniko by %s, who has no user in Odoo." % note["author_name"],
                    text_of(message.body),
                )
                checked += 1
        self.assertTrue(checked)

    def test_the_patient_lead_form_shows_the_latest_note_and_the_files(self):
        arch = self.env["crm.lead"].get_view(view_type="form")["arch"]
        for field in (
            "cliniko_last_note_summary",
            "cliniko_last_note_date",
            "cliniko_attachment_ids",
        ):
            self.assertIn('name="%s"' % field, arch)
        arch = self.env["ir.attachment"].get_view(view_type="form")["arch"]
        self.assertIn('name="cliniko_created_at"', arch)


class TestHistoryOneLeadPerPatient(HistoryCase):
    """The notes (and what they depend on) migrated once with one lead per patient."""

    sandbox_options = {"seed": 3, "patients": 12}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.per_patient_run = cls.migrate_clinic(
            resources="treatment_notes", appointment_mode="lead_per_patient"
        )

    def test_with_one_lead_per_patient_notes_stay_on_the_patients_lead(self):
        run = self.per_patient_run
        self.assertEqual(run.state, "done", run.error_message)
        linked = [
            note_id
            for note_id, note in self.sources("treatment_notes").items()
            if note.get("booking") and not note.get("deleted_at")
        ]
        self.assertTrue(linked)
        for note_id in linked:
            with self.subTest(note=note_id):
                line = self.audit_lines(run, "treatment_notes", note_id)
                self.assertNotIn("fail", line.mapped("action"))
                self.assertTrue(self.message("treatment_notes", note_id))
                self.assertFalse(self.message("treatment_notes", note_id, "appointment"))
