"""A pre-migration audit of a Cliniko account: the findings an admin settles before migrating.

One ``cliniko.source.audit`` per audit of a connection; each ``cliniko.source.audit.finding``
is one kind of problem (duplicates, orphans, unreadable phones...) with its count, the records
concerned (``cliniko.source.audit.record``: Cliniko id and name, and the Odoo contact where one
is involved) and the admin's resolution. The reading itself is ``migration.source_audit``.

A small clinic is audited at once; a big one (more patients than the audit's
``background_threshold``) is queued and audited by the scheduler, never inside a web request.
"""

import logging

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..cliniko_api import ClinikoError
from ..migration.runner import in_test_mode
from ..migration.source_audit import KIND_LABELS, KINDS, Settings, SourceAudit
from .cliniko_connection import plain_error

_logger = logging.getLogger(__name__)

RESOLUTIONS = [
    ("ignore", "Ignore (migrate as it is)"),
    ("merge", "Merge into the existing Odoo contact"),
    ("fix_in_cliniko", "Fix in Cliniko first"),
]
# The resolutions that make sense per kind (the first is the default).
ALLOWED_RESOLUTIONS = {
    "duplicate_email": ("fix_in_cliniko", "ignore"),
    "duplicate_phone": ("ignore", "fix_in_cliniko"),
    "duplicate_name_dob": ("fix_in_cliniko", "ignore"),
    "orphan_appointment": ("ignore", "fix_in_cliniko"),
    "patient_no_practitioner": ("ignore",),
    "long_treatment_note": ("ignore",),
    "incomplete_insurance": ("fix_in_cliniko", "ignore"),
    "unparseable_phone": ("fix_in_cliniko", "ignore"),
    "unparseable_email": ("fix_in_cliniko", "ignore"),
    "large_attachment": ("fix_in_cliniko", "ignore"),
    "practitioner_no_user": ("ignore",),
    "patient_in_odoo": ("merge", "ignore", "fix_in_cliniko"),
}
ADVICE = {
    "duplicate_email": "Merge the duplicates in Cliniko, or migrate both (two contacts).",
    "duplicate_phone": "Family members often share a phone; merge only true duplicates.",
    "duplicate_name_dob": "Very likely the same person: merge them in Cliniko first.",
    "orphan_appointment": "Their patient is gone: these appointments cannot be migrated.",
    "patient_no_practitioner": "Migrated with no salesperson on their lead.",
    "long_treatment_note": "Migrated whole; the chatter shows a summary.",
    "incomplete_insurance": "Complete the Medicare IRN in Cliniko, or fix it in Odoo later.",
    "unparseable_phone": "Kept as typed and flagged; correct them in Cliniko to get E.164.",
    "unparseable_email": "Kept as typed and flagged; no e-mail can be sent to them.",
    "large_attachment": "Large files slow the migration and fill the filestore.",
    "practitioner_no_user": "Decide on the run: map to a user, a placeholder or nobody.",
    "patient_in_odoo": "An Odoo contact already has this e-mail or phone.",
}


class ClinikoSourceAudit(models.Model):
    _name = "cliniko.source.audit"
    _description = "Cliniko Pre-migration Audit"
    _order = "id desc"

    connection_id = fields.Many2one(
        "cliniko.connection", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="connection_id.company_id", store=True)
    state = fields.Selection(
        [
            ("draft", "Draft"),
            ("queued", "Queued"),
            ("done", "Done"),
            ("failed", "Failed"),
        ],
        default="draft",
        required=True,
        readonly=True,
        copy=False,
    )
    note_length_threshold = fields.Integer(
        string="Long Note Threshold (characters)",
        default=20000,
        help="Treatment notes longer than this are listed.",
    )
    attachment_size_cap_mb = fields.Float(
        string="File Size Cap (MB)", default=25.0, help="Files larger than this are listed."
    )
    background_threshold = fields.Integer(
        string="Audit in the Background Above (patients)",
        default=2000,
        help="A clinic with more patients is audited by the scheduler, not at once.",
    )
    started_at = fields.Datetime(readonly=True, copy=False)
    finished_at = fields.Datetime(readonly=True, copy=False)
    patient_count = fields.Integer(string="Patients Read", readonly=True, copy=False)
    error_message = fields.Text(readonly=True, copy=False)
    refused = fields.Char(
        string="Not Readable", readonly=True, help="Resources the API key may not read."
    )
    finding_ids = fields.One2many(
        "cliniko.source.audit.finding", "audit_id", string="Findings", readonly=True
    )
    finding_count = fields.Integer(compute="_compute_finding_count")

    @api.depends("connection_id", "started_at")
    def _compute_display_name(self):
        for audit in self:
            audit.display_name = self.env._(
                "Audit of %(name)s #%(id)s", name=audit.connection_id.name or "", id=audit.id or ""
            )

    @api.depends("finding_ids.count")
    def _compute_finding_count(self):
        for audit in self:
            audit.finding_count = sum(audit.finding_ids.mapped("count"))

    # -- running -----------------------------------------------------------------------------
    @api.model
    def cliniko_run_for(self, connection):
        """Create an audit of ``connection`` and run it now; return the audit."""
        audit = self.create({"connection_id": connection.id})
        audit._cliniko_run()
        return audit

    def action_run(self):
        """The button: audit now, or queue a big clinic for the scheduler."""
        for audit in self:
            if audit.state == "queued":
                raise UserError(self.env._("This audit is already queued."))
            patients = audit._count_patients()
            if patients > audit.background_threshold:
                audit.state = "queued"
                self.env.ref("cliniko_crm_migration.ir_cron_cliniko_source_audit")._trigger()
            else:
                audit._cliniko_run()
        return True

    def _count_patients(self):
        try:
            with self.connection_id._get_client(max_retries=1) as client:
                return client.count("/patients", [("q[]", "archived_at:*")])
        except ClinikoError as error:
            raise UserError(plain_error(error, self.connection_id.shard)) from error

    @api.model
    def _cron_run_queued(self):
        """The scheduler's job: audit the queued big clinics, one at a time, each committed."""
        for audit in self.search([("state", "=", "queued")], order="id"):
            audit._cliniko_run()
            if not in_test_mode():
                self.env.cr.commit()

    def _cliniko_run(self):
        """Read the account and replace this audit's findings; failures in plain words."""
        self.ensure_one()
        self.finding_ids.unlink()
        self.write({"started_at": fields.Datetime.now(), "error_message": False})
        settings = Settings(
            note_length_threshold=self.note_length_threshold,
            attachment_size_cap=int(self.attachment_size_cap_mb * 1024 * 1024),
        )
        try:
            with self.connection_id._get_client() as client:
                settings.region = self._region(client)
                reader = SourceAudit(self.env, client, settings)
                findings = reader.run()
        except ClinikoError as error:
            self.write(
                {
                    "state": "failed",
                    "finished_at": fields.Datetime.now(),
                    "error_message": plain_error(error, self.connection_id.shard),
                }
            )
            return self
        except (UserError, ValueError) as error:
            self.write(
                {
                    "state": "failed",
                    "finished_at": fields.Datetime.now(),
                    "error_message": str(error),
                }
            )
            return self
        self._store(findings)
        self.write(
            {
                "state": "done",
                "finished_at": fields.Datetime.now(),
                "patient_count": reader.patients_seen,
                "refused": ", ".join(reader.refused) or False,
            }
        )
        return self

    def _region(self, client):
        """The country phone numbers without a country code are read in (as the run does)."""
        country = self.connection_id.country_id
        if country:
            return country.code
        page = client.get("/businesses", params=[("per_page", 100)])
        businesses = page.get("businesses") or []
        return (businesses and (businesses[0].get("country_code") or "").upper()) or None

    def _store(self, findings):
        Finding = self.env["cliniko.source.audit.finding"]
        for sequence, (kind, _label) in enumerate(KINDS):
            concerns = findings.get(kind)
            if not concerns:
                continue
            Finding.create(
                {
                    "audit_id": self.id,
                    "sequence": sequence,
                    "kind": kind,
                    "count": len(concerns),
                    "resolution": ALLOWED_RESOLUTIONS[kind][0],
                    "record_ids": [
                        fields.Command.create(
                            {
                                "cliniko_id": concern.cliniko_id,
                                "name": concern.name,
                                "detail": concern.detail or False,
                                "group_key": concern.group_key or False,
                                "partner_id": concern.partner_id or False,
                            }
                        )
                        for concern in concerns
                    ],
                }
            )

    # -- reporting ---------------------------------------------------------------------------
    def cliniko_summary(self):
        """The audit as the headless command reports it (JSON-serialisable)."""
        self.ensure_one()
        return {
            "audit_id": self.id,
            "state": self.state,
            "error": self.error_message or None,
            "patients": self.patient_count,
            "findings": {finding.kind: finding.count for finding in self.finding_ids},
            "refused": [name for name in (self.refused or "").split(", ") if name],
        }

    def action_print(self):
        return self.env.ref(
            "cliniko_crm_migration.action_report_cliniko_source_audit"
        ).report_action(self)


class ClinikoSourceAuditFinding(models.Model):
    _name = "cliniko.source.audit.finding"
    _description = "Cliniko Audit Finding"
    _order = "audit_id, sequence, id"

    audit_id = fields.Many2one(
        "cliniko.source.audit", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="audit_id.company_id", store=True)
    sequence = fields.Integer()
    kind = fields.Selection(KINDS, required=True, readonly=True)
    name = fields.Char(compute="_compute_name")
    advice = fields.Char(compute="_compute_name")
    count = fields.Integer(readonly=True)
    resolution = fields.Selection(RESOLUTIONS)
    allowed_resolutions = fields.Char(compute="_compute_name")
    record_ids = fields.One2many(
        "cliniko.source.audit.record", "finding_id", string="Records", readonly=True
    )

    @api.depends("kind")
    def _compute_name(self):
        for finding in self:
            finding.name = KIND_LABELS.get(finding.kind, finding.kind)
            finding.advice = ADVICE.get(finding.kind, "")
            finding.allowed_resolutions = ",".join(ALLOWED_RESOLUTIONS.get(finding.kind, ()))

    @api.constrains("kind", "resolution")
    def _check_resolution(self):
        labels = dict(RESOLUTIONS)
        for finding in self:
            if finding.resolution and finding.resolution not in ALLOWED_RESOLUTIONS[finding.kind]:
                raise ValidationError(
                    self.env._(
                        "'%(resolution)s' does not apply to '%(finding)s'.",
                        resolution=labels[finding.resolution],
                        finding=finding.name,
                    )
                )

    def action_open(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "current",
        }


class ClinikoSourceAuditRecord(models.Model):
    _name = "cliniko.source.audit.record"
    _description = "Cliniko Audit Finding Record"
    _order = "finding_id, group_key, id"

    finding_id = fields.Many2one(
        "cliniko.source.audit.finding", required=True, ondelete="cascade", index=True
    )
    kind = fields.Selection(related="finding_id.kind", store=True)
    audit_id = fields.Many2one(related="finding_id.audit_id", store=True, index=True)
    company_id = fields.Many2one(related="finding_id.company_id", store=True)
    cliniko_id = fields.Char(string="Cliniko ID", readonly=True)
    name = fields.Char(readonly=True)
    detail = fields.Char(readonly=True)
    group_key = fields.Char(string="Duplicate Group", readonly=True)
    partner_id = fields.Many2one("res.partner", string="Odoo Contact", readonly=True)


class ClinikoConnection(models.Model):
    _inherit = "cliniko.connection"

    source_audit_ids = fields.One2many("cliniko.source.audit", "connection_id", string="Audits")
    source_audit_count = fields.Integer(compute="_compute_source_audit_count")

    @api.depends("source_audit_ids")
    def _compute_source_audit_count(self):
        counts = dict(
            self.env["cliniko.source.audit"]._read_group(
                [("connection_id", "in", self.ids)], ["connection_id"], ["__count"]
            )
        )
        for connection in self:
            connection.source_audit_count = counts.get(connection, 0)

    def action_run_source_audit(self):
        """Audit the account (now, or in the background for a big clinic) and open it."""
        self.ensure_one()
        audit = self.env["cliniko.source.audit"].create({"connection_id": self.id})
        audit.action_run()
        return {
            "type": "ir.actions.act_window",
            "res_model": "cliniko.source.audit",
            "res_id": audit.id,
            "view_mode": "form",
            "target": "current",
        }

    def action_view_source_audits(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "cliniko_crm_migration.action_cliniko_source_audit"
        )
        action["domain"] = [("connection_id", "=", self.id)]
        action["context"] = {"default_connection_id": self.id}
        return action
