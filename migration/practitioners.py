"""Cliniko practitioners -> Odoo users (``res.users``), matched by e-mail, never created silently.

Each page of practitioners (the active ones of ``/practitioners``, then the inactive ones of
``/practitioners/inactive``) goes like this:

1. A practitioner already bound to a user updates that user's Cliniko fields (designation,
   active in Cliniko).
2. Any other is matched by the e-mail of its Cliniko user (``/users``, read once per run),
   normalised as Odoo's ``email_normalized`` is, against the active internal users (one query
   per page). Exactly one match: the practitioner is mapped to that user.
3. No match (no e-mail, an unreadable one, nobody, or several users): the run's decision for
   the practitioner is carried out (map to the chosen user, create a placeholder user, or leave
   unassigned). Without a decision on the run, the decision of the connection's last run that
   was not rolled back, else the run's default policy (``unmatched_practitioners``) decides and
   is recorded; without either, an empty decision row is recorded and the practitioner is
   skipped, waiting. The runner pauses before appointments while a decision is empty.
4. When a paused run is started again, ``apply_decisions`` re-reads the practitioners decided
   meanwhile and imports them again; in the counters their "waiting" outcome is replaced by
   the decision's.

A placeholder is an internal user (salesman) with a login under ``placeholder.invalid``, no
password, no e-mail and notifications in Odoo only, created in the silent context: no
invitation is sent. It is created archived, so it takes no paid seat (it still owns its
appointments and notes), unless the run asks for active placeholders
(``placeholder_users_active``); its time zone is the clinic's. Binding a practitioner to an
existing user adds an audit line for the binding itself, so a rollback removes the binding and
restores the user, never deletes it. A practitioner treats, so an existing user bound to one is
granted the *Clinical Records* group at binding (said in that line; the rollback takes it back).
"""

from collections import defaultdict

from odoo import Command
from odoo.tools import email_normalize

from ..cliniko_api import ClinikoNotFoundError, ClinikoPermissionError
from .importer import Importer, register
from .snapshots import changed_values, snapshot
from .values import link_id, text

PLACEHOLDER_DOMAIN = "placeholder.invalid"
CLINICAL_GROUP = "cliniko_crm_migration.group_cliniko_clinical"
# A practitioner treats: their placeholder, like an existing user bound to them, reads the
# clinical record (issue 11).
PLACEHOLDER_GROUPS = ("base.group_user", "sales_team.group_sale_salesman", CLINICAL_GROUP)


def placeholder_login(cliniko_id):
    return "cliniko-practitioner-%s@%s" % (cliniko_id, PLACEHOLDER_DOMAIN)


def practitioner_name(record):
    """The practitioner's name as Cliniko shows it, without the title."""
    full = " ".join(filter(None, [text(record.get("first_name")), text(record.get("last_name"))]))
    return (
        text(record.get("label"))
        or full
        or text(record.get("display_name"))
        or "Cliniko practitioner %s" % record.get("id")
    )


def practitioner_email(cliniko_users, record):
    """``(normalised e-mail or None, e-mail as typed or None, why it cannot be matched)`` of a
    practitioner, from its Cliniko user (``cliniko_users``: the ``/users`` records by id)."""
    user = cliniko_users.get(link_id(record.get("user")) or "")
    if user is None:
        return None, None, "its Cliniko user could not be read"
    raw = text(user.get("email"))
    if not raw:
        return None, None, "no e-mail in Cliniko"
    normalized = email_normalize(raw)
    if not normalized:
        return None, raw, "its e-mail is not a valid address"
    return normalized, raw, "no Odoo user has its e-mail"


def users_by_email(Users, emails):
    """``{normalised e-mail: users having it}`` (archived and portal users too), one query;
    an e-mail nobody has maps to an empty recordset."""
    result = defaultdict(Users.browse)
    wanted = list({email for email in emails if email})
    if wanted:
        for user in Users.with_context(active_test=False).search(
            [("email_normalized", "in", wanted)]
        ):
            result[user.email_normalized] |= user
    return result


def match_user(matches, why):
    """Among ``matches`` (the users having a practitioner's e-mail), the users it may be
    mapped to (active, internal) and, unless exactly one, why it cannot be:
    ``(eligible, why)``; ``why`` is the reason given when nobody has the e-mail."""
    eligible = matches.filtered(lambda user: user.active and not user.share)
    if len(eligible) > 1:
        why = "%s Odoo users have its e-mail" % len(eligible)
    elif not eligible and matches:
        why = "only an archived or portal user has its e-mail"
    return eligible, why


def map_practitioner(record):
    """The Cliniko fields kept on the practitioner's user."""
    return {
        "cliniko_practitioner_id": str(record["id"]),
        "cliniko_designation": text(record.get("designation")) or False,
        "cliniko_practitioner_active": record.get("active") is not False,
    }


class _Plan:
    """What this run does with one unbound practitioner: ``kind`` is map, placeholder,
    unassigned or wait; ``user`` the user to bind (for a placeholder, one that already exists
    with its login); ``decision`` the run's decision row, if any."""

    __slots__ = ("kind", "user", "decision", "note")

    def __init__(self, kind, user=None, decision=None, note=""):
        self.kind = kind
        self.user = user
        self.decision = decision
        self.note = note


@register
class PractitionerImporter(Importer):
    resource = "practitioners"
    model = "res.users"

    def __init__(self, runner):
        super().__init__(runner)
        # Creating and writing users needs rights a migration manager may lack; the
        # decisions that lead here are the manager's.
        self.Users = self.env["res.users"].sudo()
        self._cliniko_users = {}
        self._plans = {}
        self._created = set()
        self._seen = set()  # practitioners already read (each is read from one list only)

    # -- reading -----------------------------------------------------------------------------
    def before_resource(self):
        try:
            users = self.runner.fetch_all("/users")
        except ClinikoPermissionError as error:
            self.run._log(
                "Practitioners: Cliniko's users could not be read (%s); no practitioner can be "
                "matched by e-mail." % error
            )
            users = []
        self._cliniko_users = {str(user.get("id")): user for user in users}

    def lists(self):
        """The active practitioners, then the inactive ones (read from their own list)."""
        params = self.list_params()
        return [("/practitioners", params), ("/practitioners/inactive", params)]

    def list_records(self, path, records):
        seen = self._seen
        inactive = path.endswith("/inactive")
        kept = []
        for record in records:
            key = str(record.get("id") or "") if isinstance(record, dict) else ""
            if key and key in seen:
                continue
            seen.add(key)
            kept.append(dict(record, active=False) if inactive and key else record)
        return kept

    # -- the template's hooks ----------------------------------------------------------------
    def import_page(self, records):
        self._plan_page(records)
        items = super().import_page(records)
        self._audit_bindings_to_existing_users(items)
        return items

    def skip_reason(self, record):
        reason = super().skip_reason(record)
        if reason:
            return reason
        plan = self._plans.get(str(record.get("id") or ""))
        if plan and plan.kind == "wait":
            return "%s: waiting for a decision on the run" % plan.note
        if plan and plan.kind == "unassigned":
            return "left unassigned by the decision on the run"
        return None

    def map(self, item):
        return {"user": map_practitioner(item.source), "name": practitioner_name(item.source)}

    def create_batch(self, items):
        """Create the placeholder users at once; bind the others to their existing user."""
        new = [
            item
            for item in items
            if self._plans[item.cliniko_id].kind == "placeholder"
            and not self._plans[item.cliniko_id].user
        ]
        users = self.Users.browse()
        if new:
            users = self._writer(self.Users).create(
                [self._placeholder_values(item) for item in new]
            )
            self._unsubscribe_from_digests(users)
        for item, user in zip(new, users, strict=True):
            # The partner first: the rollback goes newest first and the user holds its partner.
            item.audit("create", user.partner_id, "partner of a placeholder user")
            item.audit("create", user, "placeholder user (no login e-mail, nothing sent)")
            self._bound(item, user)
        for item in items:
            if item.target:
                continue
            plan = self._plans[item.cliniko_id]
            user = plan.user
            values = self._user_values(item, user)
            note = plan.note
            if not user.cliniko_placeholder and not user.has_group(CLINICAL_GROUP):
                # A practitioner treats: the user they are bound to reads their patients'
                # clinical records (issue 11). Granted once, at binding; the update line's
                # snapshot holds the groups before, so a rollback takes it away again.
                values["group_ids"] = [Command.link(self.env.ref(CLINICAL_GROUP).id)]
                note = "%s; granted clinical access" % note if note else "granted clinical access"
            diff = changed_values(user, values)
            previous = snapshot(user, list(diff))
            if diff:
                self._writer(user).write(diff)
            # Always an update line: without one the template would audit a "create" of the
            # user, and a rollback would delete a user the run did not create.
            item.audit("update", user, note, {"values": previous})
            self._bound(item, user)

    def update_one(self, item, user):
        values = self._user_values(item, user.sudo())
        return self.write_changes(item, user, values, writer=self._writer(user.sudo()))

    @staticmethod
    def _writer(users):
        """``users`` for writing: archiving a user archives its partner, which Odoo refuses
        while it finds an active user of that partner, archived ones included when the
        (migration's) context has ``active_test=False``."""
        return users.with_context(active_test=True)

    # -- resuming a paused run ---------------------------------------------------------------
    def apply_decisions(self, decisions):
        """Carry out ``decisions`` made after the practitioners were read: read those
        practitioners again and import them; their earlier outcome leaves the counters."""
        self.before_resource()
        records, missing = [], self.env["cliniko.practitioner.decision"]
        for decision in decisions:
            try:
                record = self.runner.client.get("/practitioners/%s" % decision.cliniko_id)
            except ClinikoNotFoundError:
                missing |= decision
                continue
            records.append(record if decision.cliniko_active else dict(record, active=False))
        self._forget_earlier_outcomes(decisions.mapped("cliniko_id"))
        if records:
            self.import_page(records)
        if missing:
            missing.write({"applied": True, "reason": "no longer in Cliniko"})
            self.runner.audit(
                [
                    {
                        "action": "fail",
                        "resource": self.resource,
                        "cliniko_id": decision.cliniko_id,
                        "message": "the practitioner is no longer in Cliniko; decision not "
                        "carried out",
                    }
                    for decision in missing
                ]
            )
            line = self._counter_line()
            line.write(
                {"fetched": line.fetched + len(missing), "failed": line.failed + len(missing)}
            )

    def _forget_earlier_outcomes(self, cliniko_ids):
        last = {}
        for audit in self.env["cliniko.audit.log"].search(
            [
                ("run_id", "=", self.run.id),
                ("resource", "=", self.resource),
                ("cliniko_id", "in", cliniko_ids),
                ("is_rollback", "=", False),
            ],
            order="id",
        ):
            last[audit.cliniko_id] = "unchanged" if audit.unchanged else audit.action
        counts = dict.fromkeys(("skipped", "failed", "created", "updated", "unchanged"), 0)
        counts["fetched"] = len(last)
        names = {"skip": "skipped", "fail": "failed", "create": "created", "update": "updated"}
        for action in last.values():
            counts[names.get(action, action)] += 1
        line = self._counter_line()
        line.write({name: line[name] - value for name, value in counts.items() if value})

    def _counter_line(self):
        return self.run.resource_ids.filtered(lambda line: line.resource == self.resource)

    # -- planning ----------------------------------------------------------------------------
    def _plan_page(self, records):
        """Decide, in a few queries for the whole page, what becomes of each practitioner
        that is not bound to an existing user yet; record the decisions the admin must take."""
        self._plans = {}
        ids = [str(record["id"]) for record in records if record.get("id")]
        bound = self.runner.records(self.resource, ids)
        unbound = [
            record
            for record in records
            if record.get("id")
            and str(record["id"]) not in bound
            and not Importer.skip_reason(self, record)
        ]
        if not unbound:
            return
        unbound_ids = [str(record["id"]) for record in unbound]
        Decision = self.env["cliniko.practitioner.decision"]
        decisions = {
            decision.cliniko_id: decision
            for decision in Decision.search(
                [("run_id", "=", self.run.id), ("cliniko_id", "in", unbound_ids)]
            )
        }
        emails = {str(record["id"]): self._email(record) for record in unbound}
        whys = {}
        by_email = users_by_email(
            self.Users, [email for email, _raw, _why in emails.values() if email]
        )
        placeholders = {
            user.login: user
            for user in self.Users.search(
                [("login", "in", [placeholder_login(pid) for pid in unbound_ids])]
            )
        }
        undecided = [pid for pid in unbound_ids if not decisions.get(pid, Decision).decision]
        previous = self._previous_decisions(undecided)
        by_name = self._users_by_name([practitioner_name(record) for record in unbound])
        to_create = []
        for record in unbound:
            pid = str(record["id"])
            decision = decisions.get(pid, Decision)
            email, raw_email, why = emails[pid]
            if decision.decision:
                self._plans[pid] = self._plan_from(
                    decision, placeholders.get(placeholder_login(pid))
                )
                continue
            matches = by_email[email] if email else self.Users.browse()
            eligible, why = match_user(matches, why)
            if len(eligible) == 1:
                self._plans[pid] = _Plan("map", eligible, decision, "matched by e-mail")
                continue
            whys[pid] = why
            name = practitioner_name(record)
            proposed = (eligible or matches)[:1] or by_name.get(name, self.Users.browse())[:1]
            values = {
                "name": name,
                "email": raw_email or False,
                "designation": text(record.get("designation")) or False,
                "cliniko_active": record.get("active") is not False,
                "reason": why,
                "proposed_user_id": proposed.id or False,
            }
            carried = previous.get(pid)
            if carried:
                values.update(decision=carried.decision, user_id=carried.user_id.id or False)
            elif self.run.unmatched_practitioners:
                values["decision"] = self.run.unmatched_practitioners
            if decision:
                decision.write(values)
            else:
                to_create.append(dict(values, run_id=self.run.id, cliniko_id=pid))
        for decision in Decision.create(to_create):
            decisions[decision.cliniko_id] = decision
        for record in unbound:
            pid = str(record["id"])
            if pid in self._plans:
                continue
            decision = decisions[pid]
            if decision.decision:
                plan = self._plan_from(decision, placeholders.get(placeholder_login(pid)))
            else:
                plan = _Plan("wait", decision=decision, note=whys[pid])
            self._plans[pid] = plan

    def _plan_from(self, decision, placeholder):
        if decision.decision == "unassigned":
            decision.applied = True
            return _Plan("unassigned", decision=decision)
        if decision.decision == "map":
            return _Plan(
                "map", decision.user_id.sudo(), decision, "mapped by the decision on the run"
            )
        return _Plan("placeholder", placeholder, decision, "placeholder user already existed")

    def _email(self, record):
        return practitioner_email(self._cliniko_users, record)

    def _previous_decisions(self, cliniko_ids):
        """The decision of the connection's latest other run (not rolled back), per id."""
        if not cliniko_ids:
            return {}
        found = self.env["cliniko.practitioner.decision"].search(
            [
                ("cliniko_id", "in", cliniko_ids),
                ("decision", "!=", False),
                ("run_id", "!=", self.run.id),
                ("run_id.connection_id", "=", self.runner.connection.id),
                ("run_id.state", "!=", "rolled_back"),
            ],
            order="id desc",
        )
        result = {}
        for decision in found:
            if decision.decision == "map" and not decision.user_id.active:
                continue
            result.setdefault(decision.cliniko_id, decision)
        return result

    def _users_by_name(self, names):
        result = defaultdict(self.Users.browse)
        for user in self.Users.search(
            [("name", "in", names), ("share", "=", False), ("active", "=", True)]
        ):
            result[user.name] |= user
        return result

    # -- writing -----------------------------------------------------------------------------
    def _user_values(self, item, user):
        """The fields written on a user; a placeholder also follows the name and the active
        flag of its practitioner, a real user keeps its own."""
        values = dict(item.values["user"])
        if user and user.cliniko_placeholder:
            # an inactive practitioner's placeholder is archived; an active one's stays as the
            # admin left it (archived unless the run asks for active placeholders)
            active = values["cliniko_practitioner_active"] and (
                user.active or self.run.placeholder_users_active
            )
            values.update(name=item.values["name"], active=active)
        return values

    def _placeholder_values(self, item):
        company = self.runner.connection.company_id
        values = dict(item.values["user"])
        return dict(
            values,
            name=item.values["name"],
            login=placeholder_login(item.cliniko_id),
            email=False,
            # archived: no paid seat, unless the admin chose active placeholders for the run
            active=values["cliniko_practitioner_active"] and self.run.placeholder_users_active,
            notification_type="inbox",
            tz=self.runner.connection._cliniko_tz(),
            group_ids=[Command.set([self.env.ref(xmlid).id for xmlid in PLACEHOLDER_GROUPS])],
            company_id=company.id,
            company_ids=[Command.set([company.id])],
            cliniko_placeholder=True,
        )

    def _unsubscribe_from_digests(self, users):
        """``digest`` subscribes every new internal user to its periodic KPI e-mail."""
        if not users or "digest.digest" not in self.env:
            return
        digests = self.env["digest.digest"].sudo().search([("user_ids", "in", users.ids)])
        if digests:
            digests.write({"user_ids": [Command.unlink(user.id) for user in users]})

    def _bound(self, item, user):
        item.target = user
        self._created.discard(item.cliniko_id)
        if user.cliniko_placeholder and not self._plans[item.cliniko_id].user:
            self._created.add(item.cliniko_id)
        decision = self._plans[item.cliniko_id].decision
        if decision:
            decision.write(
                {
                    "decision": decision.decision or "map",
                    "user_id": user.id,
                    "applied": True,
                }
            )

    def _audit_bindings_to_existing_users(self, items):
        """A new binding to a user the run did not create gets its own "create" line, so the
        rollback removes the binding (and, through the update line, restores the user)."""
        existing = [
            item
            for item in items
            if item.action == "create" and not item.ref and item.cliniko_id not in self._created
        ]
        if not existing:
            return
        refs = self.binder.to_internal(self.resource, [item.cliniko_id for item in existing])
        self.runner.audit(
            [
                {
                    "action": "create",
                    "resource": self.resource,
                    "cliniko_id": item.cliniko_id,
                    "res_model": ref._name,
                    "res_id": ref.id,
                    "message": "binding to an existing user (the rollback keeps the user)",
                    "previous_values": False,
                }
                for item in existing
                if (ref := refs.get(item.cliniko_id))
            ]
        )
