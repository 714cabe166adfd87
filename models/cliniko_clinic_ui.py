"""The clinic's view of migrated data: a calendar the front desk can read, in the clinic's time.

Appointment events stay ``private`` (Odoo's standard rules and the "Busy" mask keep them from
whoever is neither their organizer nor an attendee), with one exception: a user with clinical
access reads Cliniko appointment events in full. That is decided in one place,
``res.users._cliniko_is_clinical``, where the clinical group plugs in.
"""

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain

# The clinical access group (security/cliniko_security.xml, "Clinic: Clinical Records").
CLINICAL_GROUP = "cliniko_crm_migration.group_cliniko_clinical"


class ResUsers(models.Model):
    _inherit = "res.users"

    def _cliniko_is_clinical(self):
        """Whether this user may read the clinical record (appointments, patients' health)."""
        self.ensure_one()
        return self.has_group(CLINICAL_GROUP)


class CalendarEvent(models.Model):
    _inherit = "calendar.event"

    cliniko_appointment_event = fields.Boolean(
        string="Cliniko Appointment",
        copy=False,
        readonly=True,
        index=True,
        help="The event of a migrated Cliniko appointment or group session: private, but "
        "readable in full by users with clinical access.",
    )

    @api.model
    def _get_public_fields(self):
        # not sensitive, and read while deciding what to mask (so never masked itself)
        return super()._get_public_fields() | {"cliniko_appointment_event"}

    def _check_private_event_conditions(self):
        """A private Cliniko appointment shows its patient, type and location to clinical users
        (the front desk); to everyone else it stays "Busy"."""
        hidden = super()._check_private_event_conditions()
        if hidden and self.cliniko_appointment_event:
            return not self.env.user._cliniko_is_clinical()
        return hidden

    @api.model
    def _get_default_privacy_domain(self):
        domain = super()._get_default_privacy_domain()
        if self.env.user._cliniko_is_clinical():
            return Domain.OR([domain, [("cliniko_appointment_event", "=", True)]])
        return domain


class ClinikoMigrationRun(models.Model):
    _inherit = "cliniko.migration.run"

    placeholder_users_active = fields.Boolean(
        string="Active Placeholder Users",
        default=False,
        help="Placeholder users are created archived, so they take no paid seat: they still "
        "own their appointments and notes. Tick to create them active (each then counts as an "
        "internal user).",
    )


class ClinikoFieldMap(models.Model):
    _inherit = "cliniko.field.map"

    cliniko_used = fields.Boolean(
        string="Used by a Run",
        compute="_compute_cliniko_used",
        help="A run has migrated with this map: it stays as the record of what was done; "
        "changes go into a new version.",
    )

    def _compute_cliniko_used(self):
        used = {
            field_map
            for [field_map] in self.env["cliniko.migration.run"]
            .sudo()
            ._read_group(
                [("field_map_id", "in", self.ids), ("state", "not in", ("draft", "queued"))],
                ["field_map_id"],
            )
        }
        for field_map in self:
            field_map.cliniko_used = field_map in used

    def action_reset_to_draft(self):
        if any(field_map.cliniko_used for field_map in self):
            raise UserError(
                self.env._(
                    "A run has migrated with this map, so it stays as it was confirmed: make a "
                    "new version to change it."
                )
            )
        return super().action_reset_to_draft()

    def action_new_version(self):
        """A draft copy of this map, for the next runs (the used one stays unchanged)."""
        self.ensure_one()
        version = self.copy({"name": self.env._("%s (new version)", self.name)})
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": version.id,
            "view_mode": "form",
            "target": "current",
        }


class ClinikoLocation(models.Model):
    _inherit = "cliniko.location"

    partner_id = fields.Many2one(
        "res.partner",
        string="Business Partner",
        ondelete="set null",
        copy=False,
        help="The clinic as a contact: the author of the messages the clinic sent patients.",
    )

    def _cliniko_partner_values(self):
        self.ensure_one()
        return {
            "name": self.name,
            "is_company": True,
            "street": self.street or False,
            "street2": self.street2 or False,
            "city": self.city or False,
            "zip": self.zip or False,
            "state_id": self.state_id.id or False,
            "country_id": self.country_id.id or False,
            "email": self.email or False,
            "website": self.website or False,
            "company_id": self.company_id.id or False,
        }


class ClinikoConnection(models.Model):
    _inherit = "cliniko.connection"

    clinic_currency_id = fields.Many2one(
        "res.currency",
        string="Clinic Currency",
        compute="_compute_clinic_currency",
        help="The currency of the country of the clinic's first business.",
    )
    clinic_currency_note = fields.Char(compute="_compute_clinic_currency")

    def _compute_clinic_currency(self):
        for connection in self:
            location = connection._cliniko_main_location() if connection.id else None
            currency = location.country_id.currency_id if location else None
            company_currency = (connection.company_id or self.env.company).currency_id
            connection.clinic_currency_id = currency or False
            connection.clinic_currency_note = (
                self.env._(
                    "The clinic's business is in %(country)s, whose currency is %(clinic)s, but "
                    "this company counts in %(company)s: Cliniko's amounts (prices, invoices, "
                    "expected revenue) are kept as numbers and shown in %(company)s.",
                    country=location.country_id.name,
                    clinic=currency.name,
                    company=company_currency.name,
                )
                if currency and currency != company_currency
                else False
            )

    def action_use_clinic_currency(self):
        """Make the clinic's currency the company's (an administrator's choice: it relabels
        every amount of the company)."""
        self.ensure_one()
        if not self.env.user.has_group("base.group_system"):
            raise UserError(self.env._("Only an administrator can change the company's currency."))
        currency = self.clinic_currency_id
        if not currency:
            raise UserError(
                self.env._("The clinic's currency is not known yet: migrate its businesses first.")
            )
        currency.sudo().active = True
        (self.company_id or self.env.company).sudo().currency_id = currency
        return True

    def _cliniko_main_location(self):
        """The clinic's first business (active ones first)."""
        self.ensure_one()
        return (
            self.env["cliniko.location"]
            .with_context(active_test=False)
            .search([("connection_id", "=", self.id)], order="active desc, id", limit=1)
        )

    def _cliniko_tz(self):
        """The clinic's time zone: its first business's (Cliniko's ``time_zone_identifier``),
        else the current user's, else UTC."""
        self.ensure_one()
        location = (
            self.env["cliniko.location"]
            .sudo()
            .with_context(active_test=False)
            .search(
                [("connection_id", "=", self.id), ("tz", "!=", False)],
                order="active desc, id",
                limit=1,
            )
        )
        return location.tz or self.env.user.tz or "UTC"


class CrmLead(models.Model):
    _inherit = "crm.lead"

    def _cliniko_patient_events(self):
        """The calendar events of this patient's lead: its own (one lead per patient), its
        appointments' and the group sessions it attended."""
        self.ensure_one()
        appointments = self.with_context(active_test=False).search(
            [("cliniko_patient_lead_id", "=", self.id)]
        )
        return self.env["calendar.event"].search(
            [
                "|",
                ("opportunity_id", "in", (self | appointments).ids),
                ("id", "in", appointments.cliniko_calendar_event_id.ids),
            ]
        )

    @api.depends("cliniko_lead_kind")
    def _compute_meeting_display(self):
        super()._compute_meeting_display()
        now = fields.Datetime.now()
        for lead in self.filtered(lambda lead: lead.cliniko_lead_kind == "patient" and lead.id):
            starts = lead.sudo()._cliniko_patient_events().mapped("start")
            if not starts:
                continue
            upcoming = [start for start in starts if start > now]
            if upcoming:
                lead.meeting_display_date = min(upcoming)
                lead.meeting_display_label = self.env._("Next Appointment")
            else:
                lead.meeting_display_date = max(starts)
                lead.meeting_display_label = self.env._("Last Appointment")

    def action_schedule_meeting(self, smart_calendar=True):
        """From a patient's (or an appointment's) lead: the patient's appointments in the
        clinic calendar, opened on the next one (else the latest), not the user's empty week."""
        self.ensure_one()
        patient = self if self.cliniko_lead_kind == "patient" else self.cliniko_patient_lead_id
        if not patient:
            return super().action_schedule_meeting(smart_calendar=smart_calendar)
        events = patient._cliniko_patient_events()
        now = fields.Datetime.now()
        upcoming = events.filtered(lambda event: event.stop >= now)
        focus = min(upcoming.mapped("start")) if upcoming else max(events.mapped("start") or [now])
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "cliniko_crm_migration.action_cliniko_clinic_calendar"
        )
        action.update(
            name=self.env._("Appointments of %s", patient.partner_id.name or patient.name),
            domain=[("id", "in", events.ids)],
            context={
                "default_opportunity_id": patient.id,
                "default_partner_ids": patient.partner_id.ids,
                "default_name": patient.partner_id.name or patient.name,
                "initial_date": fields.Datetime.to_string(focus),
                "default_mode": "month" if len(events) > 1 else "week",
            },
        )
        return action


class CrmLeadClinic(models.Model):
    """Patient leads as a clinic's records, not sales: their practitioners and next visits,
    a pipeline of the clinic's own stages, no way into an appointment's stage."""

    _inherit = "crm.lead"

    cliniko_practitioner_user_ids = fields.Many2many(
        "res.users",
        "crm_lead_cliniko_practitioner_rel",
        "lead_id",
        "user_id",
        string="Practitioners",
        copy=False,
        help="Every practitioner the patient has seen or is booked with (from the migrated "
        "appointments). The most recent one is the lead's salesperson.",
    )
    cliniko_next_appointment_at = fields.Datetime(
        string="Next Appointment", compute="_compute_cliniko_appointment_dates"
    )
    cliniko_last_appointment_at = fields.Datetime(
        string="Last Appointment", compute="_compute_cliniko_appointment_dates"
    )

    @api.depends("cliniko_appointment_ids.cliniko_starts_at")
    def _compute_cliniko_appointment_dates(self):
        patients = self.filtered(lambda lead: lead.cliniko_lead_kind == "patient" and lead.id)
        (self - patients).cliniko_next_appointment_at = False
        (self - patients).cliniko_last_appointment_at = False
        if not patients:
            return
        now = fields.Datetime.now()
        Lead = self.env["crm.lead"].sudo().with_context(active_test=False)
        upcoming = dict(
            Lead._read_group(
                [
                    ("cliniko_patient_lead_id", "in", patients.ids),
                    ("cliniko_starts_at", ">=", now),
                    ("cliniko_appointment_status", "in", ("booked", "arrived")),
                ],
                ["cliniko_patient_lead_id"],
                ["cliniko_starts_at:min"],
            )
        )
        past = dict(
            Lead._read_group(
                [
                    ("cliniko_patient_lead_id", "in", patients.ids),
                    ("cliniko_starts_at", "<", now),
                    ("cliniko_appointment_status", "in", ("completed", "arrived")),
                ],
                ["cliniko_patient_lead_id"],
                ["cliniko_starts_at:max"],
            )
        )
        for lead in patients:
            key = lead.sudo().with_context(active_test=False)
            lead.cliniko_next_appointment_at = upcoming.get(key, False)
            lead.cliniko_last_appointment_at = past.get(key, False)

    @api.model
    def _read_group_stage_ids(self, stages, domain):
        """A team with stages of its own for Cliniko (the clinic) shows only those: not New,
        Qualified, Proposition and Won, which belong to every team."""
        team_id = self.env.context.get("default_team_id")
        if team_id:
            own = self.env["crm.stage"].search(
                [("team_ids", "in", [team_id]), ("cliniko_status", "!=", False)]
            )
            if own:
                return own | stages
        return super()._read_group_stage_ids(stages, domain)

    def write(self, vals):
        if vals.get("stage_id") and not self.env.context.get("cliniko_migration"):
            stage = self.env["crm.stage"].browse(vals["stage_id"])
            if (
                stage.cliniko_status
                and stage.cliniko_status != "patient"
                and any(lead.cliniko_lead_kind == "patient" for lead in self)
            ):
                raise UserError(
                    self.env._(
                        "A patient cannot be moved to the appointment stage “%s”: appointments "
                        "move by their status in Cliniko.",
                        stage.name,
                    )
                )
        return super().write(vals)


def human_size(size):
    """A file size for people: ``189 B``, ``12.3 kB``, ``4.5 MB`` (decimal units)."""
    size = size or 0
    if size < 1000:
        return "%d B" % size
    for unit in ("kB", "MB", "GB"):
        size /= 1000.0
        if size < 1000 or unit == "GB":
            return ("%.1f %s" % (size, unit)).replace(".0 ", " ")
    return "%d B" % size  # not reached


class IrAttachment(models.Model):
    _inherit = "ir.attachment"

    cliniko_size_display = fields.Char(string="Size", compute="_compute_cliniko_size_display")

    @api.depends("file_size")
    def _compute_cliniko_size_display(self):
        for attachment in self:
            attachment.cliniko_size_display = human_size(attachment.file_size)
