"""A Cliniko account the clinic migrates from: its API key, shard and contact e-mail.

The API key is readable only by the Cliniko Migration Manager group and is never logged:
the client built from it keeps it out of its repr, its errors and its logs.
"""

import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..cliniko_api import ClinikoClient, ClinikoError, shard_from_key

_logger = logging.getLogger(__name__)

MANAGER_GROUP = "cliniko_crm_migration.group_cliniko_manager"


class ClinikoConnection(models.Model):
    _name = "cliniko.connection"
    _description = "Cliniko Connection"
    _order = "name, id"

    name = fields.Char(required=True, default="Cliniko")
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True
    )
    api_key = fields.Char(
        string="API Key",
        groups=MANAGER_GROUP,
        copy=False,
        help="A Cliniko API key of an administrator (My Info > Manage API keys). "
        "Its suffix after the last '-' names the shard.",
    )
    shard = fields.Char(compute="_compute_shard", store=True)
    base_url = fields.Char(
        string="Base URL override",
        help="Leave empty for https://api.<shard>.cliniko.com/v1. Set it only to talk to a "
        "Cliniko sandbox.",
    )
    contact_email = fields.Char(
        required=True,
        default=lambda self: self.env.user.email or self.env.company.email,
        help="Sent in the User-Agent, as Cliniko requires from API clients.",
    )
    per_minute = fields.Integer(
        string="Requests per minute",
        default=180,
        help="Client-side budget; Cliniko allows 200 requests per minute per user.",
    )
    country_id = fields.Many2one(
        "res.country",
        string="Default country",
        help="Country used to read phone numbers written without a country code. Filled from "
        "the clinic's first business location when empty.",
    )
    team_id = fields.Many2one(
        "crm.team",
        string="Sales Team",
        default=lambda self: self.env.ref(
            "cliniko_crm_migration.crm_team_clinic", raise_if_not_found=False
        ),
        help="Team of the leads the migration creates.",
    )
    run_ids = fields.One2many("cliniko.migration.run", "connection_id", string="Runs")
    run_count = fields.Integer(compute="_compute_run_count")

    @api.depends("api_key")
    def _compute_shard(self):
        for connection in self.sudo():
            connection.shard = shard_from_key(connection.api_key) if connection.api_key else False

    @api.depends("run_ids")
    def _compute_run_count(self):
        counts = dict(
            self.env["cliniko.migration.run"]._read_group(
                [("connection_id", "in", self.ids)], ["connection_id"], ["__count"]
            )
        )
        for connection in self:
            connection.run_count = counts.get(connection, 0)

    def _get_client(self, **options):
        """Return a ClinikoClient for this connection (reads the key with sudo)."""
        self.ensure_one()
        api_key = self.sudo().api_key
        if not api_key:
            raise UserError(self.env._("The connection %s has no API key.", self.display_name))
        if not self.contact_email:
            raise UserError(
                self.env._("The connection %s has no contact e-mail.", self.display_name)
            )
        options.setdefault("per_minute", self.per_minute or 180)
        return ClinikoClient(
            api_key,
            contact_email=self.contact_email,
            base_url=self.base_url or None,
            **options,
        )

    def action_test_connection(self):
        """Ask Cliniko who owns the key; report the shard or the error in plain words."""
        self.ensure_one()
        try:
            user = self._get_client(max_retries=1).get("/user")
        except (ClinikoError, ValueError) as error:
            raise UserError(str(error)) from error
        name = " ".join(filter(None, [user.get("first_name"), user.get("last_name")]))
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "title": self.env._("Connected to Cliniko"),
                "message": self.env._(
                    "Shard %(shard)s, key owner %(name)s.", shard=self.shard, name=name or "?"
                ),
            },
        }

    def action_view_runs(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "cliniko_crm_migration.action_cliniko_migration_run"
        )
        action["domain"] = [("connection_id", "=", self.id)]
        action["context"] = {"default_connection_id": self.id}
        return action
