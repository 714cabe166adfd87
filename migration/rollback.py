"""Rolling a run back: undo what one ``cliniko.migration.run`` wrote.

Rolling back walks the run's audit lines, dependents first and newest first within a resource:
what the run created is removed, what it updated gets its previous values back, and each step
is itself audited. What a person changed or built on since the run is kept (``kept_records``).
The caller holds the run's worker lock (``locks.py``) meanwhile.

Progress: an optional ``progress(percent, step)`` callback is told as the check of what people
changed begins, as each resource (in rollback order) and each batch of removals begins, the
percentage being the share of the run's audit lines handled so far, and 100 at the end. The
rollback itself stays one transaction: the callback must not commit it.
"""

import itertools

from odoo import SUPERUSER_ID, fields

from . import graph
from .snapshots import restore_values


class RunRollback:
    """The rollback of the run of ``runner`` (a ``MigrationRunner``: its environment, its
    audit and its commits)."""

    unlink_batch = 500

    def __init__(self, runner, progress=None):
        self.progress = progress
        self.runner = runner
        self.env = runner.env
        self.run = runner.run
        self.connection = runner.connection

    def _bound_here(self, model, ids):
        return [
            ("connection_id", "=", self.connection.id),
            ("res_model", "=", model),
            ("res_id", "in", list(ids)),
        ]

    def _rollback_line(self, line):
        """Undo one audit line; return the (action, message) of the rollback's own audit line."""
        Ref = self.env["cliniko.external.ref"].sudo()
        record = self.env[line.res_model].browse(line.res_id).exists()
        bound_here = self._bound_here(line.res_model, [line.res_id])
        if line.action == "create":
            Ref.search(bound_here).unlink()
            if record:
                record.unlink()
            return "delete", "rollback: removed what the run created"
        previous = line.previous_values or {}
        if record:
            record.write(restore_values(record, previous.get("values") or {}))
        same_record = [
            *bound_here,
            ("resource", "=", line.resource),
            ("cliniko_id", "=", line.cliniko_id),
        ]
        if previous.get("__ref__"):
            Ref.search(same_record[:1] + same_record[3:]).write(previous["__ref__"])
        else:
            # The record existed before the run but its binding is new (e.g. a practitioner
            # mapped to an existing user): the binding goes, the record stays.
            Ref.search([*same_record, ("run_id", "=", self.run.id)]).unlink()
        return "update", "rollback: restored previous values"

    def _rollback_archive(self, line, error):
        """A record that cannot be removed (still referenced elsewhere) is archived instead."""
        record = self.env[line.res_model].browse(line.res_id).exists()
        if line.action == "create" and record and "active" in record._fields:
            try:
                with self.env.cr.savepoint():
                    record.active = False
                    self.env.flush_all()
                return "update", "rollback: archived, could not be removed: %s" % error
            except Exception:  # noqa: BLE001 - reported below with the first error
                self.env.invalidate_all()
        return "fail", "rollback failed: %s" % error

    def _rollback_values(self, line, action=None, message=None):
        return {
            "resource": line.resource,
            "cliniko_id": line.cliniko_id,
            "res_model": line.res_model,
            "res_id": line.res_id,
            "is_rollback": True,
            "previous_values": False,
            "action": action,
            "message": message,
        }

    def _rollback_one(self, line):
        """Undo one line in its own savepoint (archive what cannot be removed)."""
        if not line.res_model or not line.res_id:
            return self._rollback_values(line, "skip", "rollback: no Odoo record to undo")
        try:
            with self.env.cr.savepoint():
                action, message = self._rollback_line(line)
                self.env.flush_all()
        except Exception as error:  # noqa: BLE001 - listed in the audit, the rest goes on
            self.env.invalidate_all()
            action, message = self._rollback_archive(line, error)
        return self._rollback_values(line, action, message)

    def _rollback_creates(self, model, lines):
        """Remove the records of ``lines`` (one model) and their bindings at once; if that
        fails (one is still referenced elsewhere), one by one."""
        ids = {line.res_id for line in lines if line.res_id}
        try:
            with self.env.cr.savepoint():
                self.env["cliniko.external.ref"].sudo().search(
                    self._bound_here(model, ids)
                ).unlink()
                self.env[model].browse(list(ids)).exists().unlink()
                self.env.flush_all()
        except Exception:  # noqa: BLE001 - each record is retried (and reported) below
            self.env.invalidate_all()
            return [self._rollback_one(line) for line in lines]
        return [
            self._rollback_values(line, "delete", "rollback: removed what the run created")
            for line in lines
        ]

    def lines_in_order(self):
        """The run's own create/update audit lines, in rollback order: the graph reversed
        (dependents first), newest first within a resource."""
        found = (
            self.env["cliniko.audit.log"]
            .sudo()
            .search(
                [
                    ("run_id", "=", self.run.id),
                    ("is_rollback", "=", False),
                    ("action", "in", ("create", "update")),
                ],
                order="id desc",
            )
        )
        rank = {resource.name: index for index, resource in enumerate(graph.rollback_order())}
        return found.sorted(lambda line: (rank.get(line.resource, -1), -line.id)), rank

    def kept_records(self, lines=None):
        """``{(model, id): reason}``: the records this run created or updated that a person
        changed after the run, which the rollback keeps as they are.

        The rule: a record is changed by a person when its last writer (``write_uid``) is a
        real user (not the superuser, which scheduled jobs and the command line use) and
        either (a) is not one of the users the run wrote as (the authors of its audit lines)
        and wrote at or after the run's last write to that record (the ``create_date`` of its
        newest audit line for it: the same transaction as the run's write), or (b) wrote
        after the run ended (its ``finished_at``, else its newest audit line). A record the
        run created that a kept record still points to (a many2one, e.g. the partner of a
        kept lead) is kept too, so the kept record stays whole.
        """
        if lines is None:
            lines, _rank = self.lines_in_order()
        if not lines:
            return {}
        run_users = set(lines.mapped("create_uid").ids)
        last_touch = {}
        for line in lines:
            if line.res_model and line.res_id:
                key = (line.res_model, line.res_id)
                last_touch[key] = max(last_touch.get(key) or line.create_date, line.create_date)
        run_end = self.run.finished_at or max(last_touch.values(), default=False)
        by_model = {}
        for model, res_id in last_touch:
            by_model.setdefault(model, []).append(res_id)
        kept = {}
        for model, ids in by_model.items():
            Model = self.env[model].sudo().with_context(active_test=False)
            if not Model._log_access:
                continue
            for record in Model.browse(ids).exists():
                writer, when = record.write_uid, record.write_date
                if not writer or writer.id == SUPERUSER_ID or not when:
                    continue
                if (writer.id not in run_users and when >= last_touch[(model, record.id)]) or (
                    run_end and when > run_end
                ):
                    kept[(model, record.id)] = "changed by %s on %s, after the run" % (
                        writer.name,
                        fields.Datetime.to_string(when),
                    )
        created = {
            (line.res_model, line.res_id) for line in lines if line.action == "create"
        } - set(kept)
        for key, reason in self._built_on(created, lines, run_users, run_end).items():
            kept.setdefault(key, reason)
        created -= set(kept)
        todo = list(kept)
        while todo and created:
            model, res_id = todo.pop()
            record = self.env[model].sudo().browse(res_id)
            for name, field in record._fields.items():
                if field.type != "many2one" or not field.store:
                    continue
                target = record[name]
                key = (target._name, target.id)
                if target and key in created:
                    created.discard(key)
                    kept[key] = "used by the kept %s #%s" % (model, res_id)
                    todo.append(key)
        return kept

    def _built_on(self, created, lines, run_users, run_end):
        """``{(model, id): reason}`` for records the run created that people built on since:
        a message, attachment or activity on them the migration did not write, or a lead the
        migration did not write pointing at them. Unlinking such a record would take the
        people's work with it (a lead's notes and files go with the lead)."""
        if not created:
            return {}
        written = {(line.res_model, line.res_id) for line in lines}
        by_model = {}
        for model, res_id in created:
            by_model.setdefault(model, set()).add(res_id)
        found = {}
        # by a real user who is not one the run wrote as, or after the run (as for writes)
        people = [("create_uid", "!=", SUPERUSER_ID)]
        if run_end:
            people += [
                "|",
                ("create_uid", "not in", list(run_users)),
                ("create_date", ">", run_end),
            ]
        else:
            people += [("create_uid", "not in", list(run_users))]
        for model, ids in by_model.items():
            for child_model, what in (
                ("mail.message", "a message"),
                ("ir.attachment", "a file"),
                ("mail.activity", "an activity"),
            ):
                Child = self.env[child_model].sudo().with_context(active_test=False)
                field = "model" if child_model == "mail.message" else "res_model"
                domain = [(field, "=", model), ("res_id", "in", list(ids)), *people]
                for child in Child.search(domain):
                    if (child_model, child.id) in written:
                        continue
                    found.setdefault(
                        (model, child.res_id),
                        "people built on it since: %s by %s" % (what, child.create_uid.name),
                    )
        partners = by_model.get("res.partner")
        if partners:
            leads = (
                self.env["crm.lead"]
                .sudo()
                .with_context(active_test=False)
                .search([("partner_id", "in", list(partners)), *people])
            )
            for lead in leads:
                if ("crm.lead", lead.id) not in written:
                    found.setdefault(
                        ("res.partner", lead.partner_id.id),
                        "people built on it since: the lead %s points at it" % lead.id,
                    )
        return found

    def rollback(self):
        """Undo the run: remove what it created and restore what it updated, dependents
        first; keep (and list) what a person changed since. Records of one model are removed
        in batches (``unlink_batch``), one by one only when a batch fails."""
        run = self.run
        if run.state == "rolled_back":
            return run
        lines, rank = self.lines_in_order()
        groups = [
            list(group)
            for _rank, group in itertools.groupby(
                lines, key=lambda line: rank.get(line.resource, -1)
            )
        ]
        # the check of what people changed weighs a tenth of the lines, the audit as much
        total = len(lines) + 2 * max(1, len(lines) // 10)
        handled = 0

        def tell(weight, what):
            nonlocal handled
            if self.progress:
                self.progress(min(99.0, 100.0 * handled / total), what)
            handled += weight

        tell(max(1, len(lines) // 10), "Checking what people changed since the run")
        kept = self.kept_records(lines)
        audit = []
        for number, group in enumerate(groups, 1):
            creates = {}
            label = _label(group[0].resource)
            tell(0, "Rolling back %s (%s of %s)" % (label, number, len(groups)))
            for line in group:
                key = (line.res_model, line.res_id)
                if key in kept:
                    audit.append(
                        self._rollback_values(line, "skip", "rollback: kept, %s" % kept[key])
                    )
                elif line.action == "update" or not line.res_model or not line.res_id:
                    audit.append(self._rollback_one(line))
                else:
                    creates.setdefault(line.res_model, []).append(line)
            handled += len(group) - sum(len(m) for m in creates.values())
            # Within a resource, the model created last (its newest line) goes first.
            for model in sorted(creates, key=lambda m: -max(line.id for line in creates[m])):
                model_lines = creates[model]
                for start in range(0, len(model_lines), self.unlink_batch):
                    chunk = model_lines[start : start + self.unlink_batch]
                    if start:
                        tell(
                            0,
                            "Rolling back %s (%s of %s), %s of %s removed"
                            % (label, number, len(groups), start, len(model_lines)),
                        )
                    audit.extend(self._rollback_creates(model, chunk))
                    handled += len(chunk)
        tell(0, "Writing the rollback's audit")
        self.runner.audit(audit)
        run.write({"state": "rolled_back", "rolled_back_at": fields.Datetime.now()})
        said = "%s operations undone, %s record(s) kept (changed since the run)" % (
            len(lines) - sum(1 for values in audit if values["action"] == "skip"),
            len(kept),
        )
        run._log("Rolled back: %s" % said)
        run._cliniko_note_event("rolled_back", said)
        if self.progress:
            self.progress(100.0, "Rolled back")
        self.runner._checkpoint()
        return run


def _label(resource):
    try:
        return graph.get(resource).label.lower()
    except KeyError:
        return resource or "records"
