"""The run's field map, sample and verification.

A run moves no record before its field map is confirmed: ``_cliniko_check_startable`` refuses
(and the runner refuses again in ``_prepare``). A new run takes the connection's last confirmed
map. A sample run migrates only the patients chosen by ``migration/sample.py`` (and what hangs
off them) and then lists its field-level diff; the admin keeps it (the next full run carries on
from it) or rolls it back. Verification reconciles the counts and compares every migrated
record with what the map says it should hold (``migration/verify.py``).
"""

import json

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..migration import sample as sample_rules
from ..migration import verify as verify_rules


class ClinikoMigrationRun(models.Model):
    _inherit = "cliniko.migration.run"

    field_map_id = fields.Many2one(
        "cliniko.field.map",
        string="Field Map",
        domain="[('connection_id', '=', connection_id)]",
        ondelete="restrict",
        help="The confirmed field map this run follows.",
    )
    field_map_state = fields.Selection(related="field_map_id.state", string="Field Map State")
    cliniko_accept_proposed_map = fields.Boolean(
        string="Accept Proposed Map",
        help="On start, propose a map and confirm it as proposed (headless runs).",
    )
    sample_size = fields.Integer(default=200, help="How many patients a sample run migrates.")
    sample_patient_ids = fields.Text(
        string="Sample Patients", readonly=True, copy=False, help="Cliniko ids (JSON list)."
    )
    sample_patient_count = fields.Integer(compute="_compute_sample_patient_count")
    sample_diff_ids = fields.One2many("cliniko.sample.diff", "run_id", string="Sample Diff")
    sample_diff_mismatch_count = fields.Integer(compute="_compute_sample_diff_counts")
    verification_resource_ids = fields.One2many(
        "cliniko.verification.resource", "run_id", string="Reconciliation"
    )
    verification_mismatch_ids = fields.One2many(
        "cliniko.verification.mismatch", "run_id", string="Mismatches"
    )
    verification_open_count = fields.Integer(
        string="Open Mismatches", compute="_compute_verified", store=True
    )
    verified_at = fields.Datetime(readonly=True, copy=False)
    verified = fields.Boolean(compute="_compute_verified", store=True, copy=False)

    @api.constrains("sample_size")
    def _check_sample_size(self):
        for run in self:
            if not 1 <= run.sample_size <= 1000:
                raise ValidationError(self.env._("A sample has between 1 and 1000 patients."))

    def _compute_sample_patient_count(self):
        for run in self:
            run.sample_patient_count = len(run._cliniko_sample_ids() or ())

    @api.depends("sample_diff_ids.match")
    def _compute_sample_diff_counts(self):
        for run in self:
            run.sample_diff_mismatch_count = len(
                run.sample_diff_ids.filtered(lambda line: not line.match)
            )

    @api.depends(
        "verified_at",
        "verification_mismatch_ids.acknowledged",
        "verification_resource_ids.reconciled",
    )
    def _compute_verified(self):
        for run in self:
            open_lines = run.verification_mismatch_ids.filtered(lambda line: not line.acknowledged)
            run.verification_open_count = len(open_lines)
            run.verified = bool(
                run.verified_at
                and not open_lines
                and all(run.verification_resource_ids.mapped("reconciled"))
            )

    @api.model_create_multi
    def create(self, vals_list):
        accept = self.env.context.get("cliniko_accept_proposed_map")
        for values in vals_list:
            if accept:
                values.setdefault("cliniko_accept_proposed_map", True)
            if not values.get("field_map_id") and values.get("connection_id"):
                last = self.env["cliniko.field.map"].search(
                    [("connection_id", "=", values["connection_id"]), ("state", "=", "confirmed")],
                    order="confirmed_at desc, id desc",
                    limit=1,
                )
                if last:
                    values["field_map_id"] = last.id
        return super().create(vals_list)

    # -- the field map gate --------------------------------------------------------------------
    def _cliniko_check_field_map(self):
        """A start check (``START_CHECKS``): the run has a confirmed field map."""
        if not self._cliniko_accepts_proposed_map():
            self._cliniko_ensure_field_map()
        # else the runner proposes and confirms the map as its first step (``_prepare``), so
        # that Cliniko refusing the proposal's reads fails the run in plain words

    def _cliniko_accepts_proposed_map(self):
        self.ensure_one()
        return bool(
            self.cliniko_accept_proposed_map or self.env.context.get("cliniko_accept_proposed_map")
        )

    def _cliniko_ensure_field_map(self, client=None):
        """Return the run's confirmed map, or raise a UserError saying what is missing. With
        "accept proposed map", a missing or draft map is proposed and confirmed first (read
        through ``client`` when given: the runner's)."""
        self.ensure_one()
        field_map = self.field_map_id
        accept = self._cliniko_accepts_proposed_map()
        if field_map.state != "confirmed" and accept:
            if not field_map:
                field_map = self.env["cliniko.field.map"].cliniko_propose(
                    self.connection_id, client=client
                )
            field_map.action_confirm()
            self.field_map_id = field_map
        if not field_map:
            raise UserError(
                self.env._(
                    "No field map: propose one (Field Map button), check it and confirm it "
                    "before the run moves any record."
                )
            )
        if field_map.state != "confirmed":
            raise UserError(
                self.env._(
                    "The field map %s is not confirmed: check it and confirm it before the run "
                    "moves any record.",
                    field_map.name,
                )
            )
        if field_map.connection_id != self.connection_id:
            raise UserError(self.env._("The field map belongs to another connection."))
        return field_map

    def action_propose_field_map(self):
        self.ensure_one()
        if self.state not in ("draft", "blocked"):
            raise UserError(self.env._("Only a draft or paused run takes a new map."))
        self.field_map_id = self.env["cliniko.field.map"].cliniko_propose(self.connection_id)
        return self.action_open_field_map()

    def action_open_field_map(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "cliniko.field.map",
            "res_id": self.field_map_id.id,
            "view_mode": "form",
            "target": "current",
        }

    # -- sample ------------------------------------------------------------------------------
    def _cliniko_sample_ids(self):
        """The Cliniko ids of the sample's patients (a set), or None when not a sample."""
        self.ensure_one()
        if self.run_type != "sample" or not self.sample_patient_ids:
            return None
        return set(json.loads(self.sample_patient_ids))

    def _cliniko_sample_scope(self, client=None):
        """The sample's patient ids (a set) a sample run migrates, chosen first if not yet."""
        self.ensure_one()
        if not self.sample_patient_ids:
            sample_rules.choose_for_run(self, client=client)
        return self._cliniko_sample_ids() or set()

    def action_choose_sample(self):
        for run in self:
            if run.run_type != "sample":
                raise UserError(self.env._("Only a sample run has a sample to choose."))
            if run.state != "draft":
                raise UserError(self.env._("The sample of a started run cannot change."))
            sample_rules.choose_for_run(run)
        return True

    def _cliniko_on_finished(self):
        """A finished sample gets its diff report, whether it ran here or in the background."""
        result = super()._cliniko_on_finished()
        for run in self:
            if run.run_type == "sample" and run.state == "done" and not run.sample_diff_ids:
                sample_rules.build_diff(run)
        return result

    def action_build_sample_diff(self):
        for run in self:
            if run.run_type != "sample" or run.state != "done":
                raise UserError(self.env._("The diff report is for a finished sample run."))
            sample_rules.build_diff(run)
        return True

    def action_keep_sample(self):
        """Keep what the sample wrote; a full run (draft, same map) carries on from it."""
        self.ensure_one()
        if self.run_type != "sample" or self.state != "done":
            raise UserError(self.env._("Only a finished sample run can be kept."))
        full = self.create(
            {
                "connection_id": self.connection_id.id,
                "run_type": "full",
                "field_map_id": self.field_map_id.id,
                "resources": self.resources,
            }
        )
        self._log("Sample kept; full run #%s carries on from it" % full.id)
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": full.id,
            "view_mode": "form",
            "target": "current",
        }

    def cliniko_sample_summary(self):
        """The sample and its diff as the headless command reports it."""
        self.ensure_one()
        if self.run_type == "sample" and self.state == "done" and not self.sample_diff_ids:
            sample_rules.build_diff(self)
        lines = self.sample_diff_ids
        return {
            "run_id": self.id,
            "sample_size": self.sample_size,
            "patients": sorted(self._cliniko_sample_ids() or ()),
            "diff": {
                "records": len(set(lines.mapped(lambda line: (line.resource, line.cliniko_id)))),
                "fields": len(lines),
                "mismatches": len(lines.filtered(lambda line: not line.match)),
            },
        }

    # -- verification --------------------------------------------------------------------------
    def action_verify(self):
        for run in self:
            run.cliniko_verify()
        return True

    def action_acknowledge_mismatches(self):
        """Accept every open mismatch: the sign-off (who and when, audited) when the run is
        not signed off yet, else the mismatches a new comparison found since."""
        for run in self:
            if not run.signoff_acknowledged_at:
                run.action_acknowledge_signoff()
            else:
                run.verification_mismatch_ids.filtered(lambda line: not line.acknowledged).write(
                    {"acknowledged": True}
                )
        return True

    def cliniko_verify(self, progress=None):
        """Reconcile the counts and compare every migrated record; returns the report.
        ``progress(percent, step)`` is told as it goes (``migration/verify.py``)."""
        self.ensure_one()
        if self.state in ("draft", "running"):
            raise UserError(self.env._("Only a finished run can be verified."))
        verify_rules.verify(self, progress=progress)
        return {
            "run_id": self.id,
            "verified": self.verified,
            "resources": {
                line.resource: {
                    "cliniko": line.cliniko_count if line.cliniko_known else None,
                    "references": line.reference_count,
                    "odoo": line.odoo_count,
                    "failed": line.failed,
                }
                for line in self.verification_resource_ids.sorted("sequence")
            },
            "mismatches": len(self.verification_mismatch_ids),
        }
