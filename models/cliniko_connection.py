"""A Cliniko account the clinic migrates from: its API key, shard and contact e-mail.

The API key is write-only: the form offers an empty, masked field to type a new key
(``api_key_input``) and shows only whether one is set (``api_key_set``). The key itself
(``api_key``) belongs to a group nobody is in, so only sudo code (the client factory) reads it;
it never appears in a view, an export, ``fields_get`` or a log: the client built from it keeps it
out of its repr, its errors and its logs.

"Test connection" asks Cliniko who owns the key, then how many records it holds per resource of
the migration graph (``total_entries``), stored as lines on the connection. Failures are put in
plain words: a bad key, a missing permission, the rate limit, Cliniko unreachable.

The key goes where ``base_url`` points, so ``base_url`` accepts only Cliniko's own
``https://api.<shard>.cliniko.com/v1``, unless the system parameter ``SANDBOX_PARAM`` (off by
default; the demo and the tests set it) allows a sandbox; changing it clears the stored key,
so a key typed for one host is never sent to another.
"""

import functools
import logging

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..cliniko_api import (
    ClinikoAuthError,
    ClinikoClient,
    ClinikoConnectionError,
    ClinikoError,
    ClinikoPermissionError,
    ClinikoRateLimitError,
    ClinikoUnavailableError,
    check_base_url,
    shard_from_key,
)
from ..cliniko_api.client import EMAIL_RE
from ..migration import graph
from ..migration.budget import SharedBudget, key_digest

_logger = logging.getLogger(__name__)

MANAGER_GROUP = "cliniko_crm_migration.group_cliniko_manager"
# Nobody is in this group: the stored key is read by sudo code only.
KEY_GROUP = "cliniko_crm_migration.group_cliniko_api_key"

# System parameter: "True" lets base_url point at a sandbox (and downloads reach local hosts).
SANDBOX_PARAM = "cliniko_crm_migration.allow_sandbox_url"

# Resources read from more than one Cliniko list (the active and the inactive ones).
EXTRA_LISTS = {"practitioners": ("/practitioners/inactive",)}
# Wait at most this long for Cliniko's rate limit while testing: the admin is waiting.
TEST_RATE_LIMIT_WAIT = 15.0
# The contact sent in the User-Agent of the one request that asks Cliniko whose key it is
# (GET /user), when nobody gave a contact e-mail yet and the company has none.
BOOTSTRAP_CONTACT = "odoo-cliniko-migration@example.com"


def plain_error(error, shard=None):
    """The sentence an admin reads for a client error (never the key: the client redacts it)."""
    if isinstance(error, ClinikoAuthError):
        return (
            "Cliniko rejected the API key: check that it is copied whole, has not been revoked, "
            "and that its shard (%s, the part after the last '-') is the account's."
            % (shard or "?")
        )
    if isinstance(error, ClinikoPermissionError):
        return (
            "The API key's Cliniko user lacks a permission this needs (%s). Use the key of a "
            "Cliniko administrator." % error
        )
    if isinstance(error, ClinikoRateLimitError):
        return (
            "Cliniko's rate limit is reached (too many requests for this user). Wait a minute "
            "and try again, or stop other tools using the same Cliniko user."
        )
    if isinstance(error, (ClinikoConnectionError, ClinikoUnavailableError)):
        return (
            "Cliniko cannot be reached: check the network, the base URL and Cliniko's status "
            "page (%s)." % error
        )
    return str(error)


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
        string="Stored API Key",
        groups=KEY_GROUP,
        copy=False,
        prefetch=False,
        help="Read only by sudo code. Set it through 'API Key'.",
    )
    api_key_input = fields.Char(
        string="New API Key",
        compute="_compute_api_key_input",
        inverse="_inverse_api_key_input",
        copy=False,
        help="A Cliniko API key of an administrator (My Info > Manage API keys). Its suffix "
        "after the last '-' names the shard. Once saved it is never shown again: type a new "
        "key to replace it.",
    )
    api_key_set = fields.Boolean(
        string="API Key Set", compute="_compute_api_key_set", compute_sudo=True
    )
    api_key_status = fields.Selection(
        [("set", "set"), ("not_set", "not set")],
        string="API Key",
        compute="_compute_api_key_set",
        compute_sudo=True,
    )
    shard = fields.Char(compute="_compute_shard", store=True, compute_sudo=True)
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
    max_file_size_mb = fields.Integer(
        string="Largest File (MB)",
        default=100,
        help="A Cliniko file larger than this (announced or received) is not migrated: it "
        "fails alone, with its size in the audit log.",
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
    # -- the last connection test ------------------------------------------------------------
    tested_at = fields.Datetime(string="Last Tested", readonly=True, copy=False)
    test_message = fields.Text(string="Last Test Result", readonly=True, copy=False)
    key_owner = fields.Char(string="Key Owner", readonly=True, copy=False)
    resource_count_ids = fields.One2many(
        "cliniko.connection.resource.count",
        "connection_id",
        string="Records in Cliniko",
        readonly=True,
    )

    @api.model
    def _cliniko_sandbox_allowed(self):
        value = self.env["ir.config_parameter"].sudo().get_param(SANDBOX_PARAM) or ""
        return value.strip().lower() in ("1", "true", "yes")

    @api.constrains("base_url")
    def _check_base_url(self):
        allowed = self._cliniko_sandbox_allowed()
        for connection in self.filtered("base_url"):
            try:
                check_base_url(connection.base_url, allow_sandbox=allowed)
            except ValueError as error:
                raise ValidationError(str(error)) from None

    def write(self, vals):
        if "base_url" in vals:
            if vals["base_url"]:
                # Refused before anything else is written (the key below, in particular).
                try:
                    check_base_url(vals["base_url"], self._cliniko_sandbox_allowed())
                except ValueError as error:
                    raise ValidationError(str(error)) from None
            new = (vals["base_url"] or "").strip().rstrip("/")
            moved = self.filtered(lambda c: (c.base_url or "").strip().rstrip("/") != new)
            if moved and "api_key" not in vals and not vals.get("api_key_input"):
                # A key typed for one host is never sent to another: type it again.
                super(ClinikoConnection, moved.sudo()).write({"api_key": False})
        return super().write(vals)

    def _compute_api_key_input(self):
        for connection in self:
            connection.api_key_input = False

    def _inverse_api_key_input(self):
        for connection in self:
            if connection.api_key_input:
                connection.sudo().api_key = connection.api_key_input.strip()
        # Never read back: the form reloads the record after saving.
        self.invalidate_recordset(["api_key_input"])

    @api.depends("api_key")
    def _compute_api_key_set(self):
        for connection in self:
            connection.api_key_set = bool(connection.api_key)
            connection.api_key_status = "set" if connection.api_key_set else "not_set"

    @api.depends("api_key")
    def _compute_shard(self):
        for connection in self:
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
        if "clock" not in options and "sleep" not in options:
            # Every worker on this key, in any process on this database, shares one budget
            # (a test's stand-in clock keeps the client's own).
            options["budget"] = functools.partial(
                SharedBudget, dbname=self.env.cr.dbname, key=key_digest(api_key)
            )
        sandbox = self._cliniko_sandbox_allowed()
        # Checked again at use: a sandbox URL stored while the parameter was on is refused
        # once it is off.
        try:
            base_url = check_base_url(self.base_url, sandbox) if self.base_url else None
        except ValueError as error:
            raise UserError(str(error)) from None
        return ClinikoClient(
            api_key,
            contact_email=self.contact_email,
            base_url=base_url,
            allow_private_hosts=sandbox,
            **options,
        )

    @api.model
    def _cliniko_key_owner_email(self, api_key, base_url=None, contact_email=None):
        """The e-mail of the Cliniko user who owns ``api_key`` (``GET /user``), or None when
        Cliniko gives none. A key Cliniko rejects raises UserError in plain words."""
        try:
            client = ClinikoClient(
                api_key,
                contact_email=contact_email or BOOTSTRAP_CONTACT,
                base_url=base_url or None,
                max_retries=1,
                max_rate_limit_wait=TEST_RATE_LIMIT_WAIT,
            )
        except ValueError as error:
            raise UserError(str(error)) from error
        with client:
            try:
                user = client.get("/user")
            except ClinikoAuthError as error:
                raise UserError(plain_error(error, client.shard)) from error
            except ClinikoConnectionError as error:
                raise UserError(plain_error(error)) from error
            except ClinikoError as error:
                _logger.info("could not ask Cliniko who owns the key: %s", error)
                return None
        email = user.get("email") if isinstance(user, dict) else None
        email = email.strip() if isinstance(email, str) else ""
        return email if EMAIL_RE.match(email) else None

    # -- testing the connection --------------------------------------------------------------
    def cliniko_test_connection(self):
        """Ask Cliniko who owns the key and how many records it holds per resource.

        Returns ``{"shard": "au1", "key_owner": "...", "counts": {resource: n}}`` (a resource
        the key may not read is left out of ``counts`` and listed in ``"refused"``); stores the
        result on the connection; raises UserError with the reason in plain words.
        """
        self.ensure_one()
        try:
            client = self._get_client(max_retries=1, max_rate_limit_wait=TEST_RATE_LIMIT_WAIT)
            with client:
                user = client.get("/user")
                counts, refused = self._count_resources(client)
        except ClinikoError as error:
            raise UserError(plain_error(error, self.shard)) from error
        except ValueError as error:
            raise UserError(str(error)) from error
        owner = " ".join(filter(None, [user.get("first_name"), user.get("last_name")])) or "?"
        Count = self.env["cliniko.connection.resource.count"]
        self.resource_count_ids.unlink()
        Count.create(
            [
                {
                    "connection_id": self.id,
                    "sequence": sequence,
                    "resource": resource.name,
                    "count": counts.get(resource.name, 0),
                    "error": refused.get(resource.name) or False,
                }
                for sequence, resource in enumerate(graph.GRAPH)
            ]
        )
        message = self.env._(
            "Connected to shard %(shard)s as %(owner)s; %(total)s records in Cliniko.",
            shard=self.shard,
            owner=owner,
            total=sum(counts.values()),
        )
        if refused:
            message += " " + self.env._(
                "The key may not read: %s.", ", ".join(graph.get(name).label for name in refused)
            )
        self.write(
            {
                "tested_at": fields.Datetime.now(),
                "test_message": message,
                "key_owner": owner,
            }
        )
        return {
            "shard": self.shard,
            "key_owner": owner,
            "counts": counts,
            "refused": refused,
        }

    def _count_resources(self, client):
        """``({resource: total_entries}, {resource: why refused})`` over the migration graph,
        counted with the filters the full run reads with (archived, cancelled... included)."""
        counts, refused = {}, {}
        for resource in graph.GRAPH:
            params = [("q[]", condition) for condition in resource.list_filters]
            paths = ("/" + resource.name, *EXTRA_LISTS.get(resource.name, ()))
            try:
                counts[resource.name] = sum(client.count(path, params) for path in paths)
            except ClinikoPermissionError as error:
                refused[resource.name] = plain_error(error)
        return counts, refused

    def action_test_connection(self):
        """The form's button: test, then show the shard and the counts (stored as lines)."""
        self.ensure_one()
        result = self.cliniko_test_connection()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "title": self.env._("Connected to Cliniko"),
                "message": self.env._(
                    "Shard %(shard)s, key owner %(name)s, %(total)s records in Cliniko.",
                    shard=result["shard"],
                    name=result["key_owner"],
                    total=sum(result["counts"].values()),
                ),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
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


class ClinikoConnectionResourceCount(models.Model):
    _name = "cliniko.connection.resource.count"
    _description = "Cliniko Records per Resource"
    _order = "connection_id, sequence, id"

    connection_id = fields.Many2one(
        "cliniko.connection", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="connection_id.company_id", store=True)
    sequence = fields.Integer()
    resource = fields.Char(required=True)
    label = fields.Char(compute="_compute_label")
    count = fields.Integer(string="Records in Cliniko")
    error = fields.Char(string="Not Readable", help="Why the key may not read this resource.")

    @api.depends("resource")
    def _compute_label(self):
        for line in self:
            try:
                line.label = graph.get(line.resource).label
            except KeyError:
                line.label = line.resource
