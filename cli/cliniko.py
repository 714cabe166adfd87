"""Headless Cliniko migration commands, for scripts and CI.

    odoo-bin --addons-path=PATHS cliniko test-connection -d DB (--connection ID | --api-key ...)
    odoo-bin --addons-path=PATHS cliniko audit -d DB (--connection ID | --api-key KEY ...) --json
    odoo-bin --addons-path=PATHS cliniko sample -d DB (--connection ID | ...) --size N --json
    odoo-bin --addons-path=PATHS cliniko migrate -d DB (--connection ID | ...)
             [--accept-proposed-map] [--practitioners FILE]
             [--unmatched-practitioners placeholder|unassigned] --json
    odoo-bin --addons-path=PATHS cliniko map export FILE -d DB (--connection ID | ...) --json
    odoo-bin --addons-path=PATHS cliniko map import FILE -d DB (--connection ID | ...) [--confirm]
    odoo-bin --addons-path=PATHS cliniko conflicts list -d DB [--connection ID] [--all] --json
    odoo-bin --addons-path=PATHS cliniko conflicts take -d DB (--conflict ID ... | --all
             [--connection ID]) --side cliniko|odoo --json
    odoo-bin --addons-path=PATHS cliniko delta -d DB (--connection ID | ...) [--final] --json
    odoo-bin --addons-path=PATHS cliniko verify -d DB --run RUN_ID --json
    odoo-bin --addons-path=PATHS cliniko rollback -d DB --run RUN_ID --json
    odoo-bin --addons-path=PATHS cliniko resume -d DB --run RUN_ID --json
    odoo-bin --addons-path=PATHS cliniko work -d DB [--workers N] [--threads N] --json
    odoo-bin --addons-path=PATHS cliniko import-export -d DB [--connection ID] --file F
             [--file F ...] [--accept-proposed-map] [--date-order dmy|mdy] --json

The API key: ``--api-key -`` reads it from standard input and, without ``--api-key``, the
environment variable ``CLINIKO_API_KEY`` gives it; both keep it out of the process list and
the shell history (``--api-key KEY`` still works, for scripts that cannot do otherwise).

``test-connection`` does what the connection form's *Test Connection* button does: it asks
Cliniko who owns the key and how many records each resource holds, and reports both (a resource
the key may not read is listed in ``refused``). ``--practitioners FILE`` (``migrate``,
``sample``) fills the run's practitioner decisions from a CSV file (``cliniko_practitioner``:
an id, else an e-mail, else a name; ``odoo_user``: a login, or ``placeholder`` or
``unassigned``); the practitioners it leaves out follow ``--unmatched-practitioners``.
``map export`` writes the connection's newest field map (proposed now if it has none) as CSV;
``map import`` applies the reviewed file (to a new version when the map is confirmed) and,
with ``--confirm``, confirms it. ``conflicts list`` lists the delta syncs' open conflicts
(``--all``: resolved ones too) and ``conflicts take`` resolves them as the list's buttons do:
``--side cliniko`` takes Cliniko's value, ``--side odoo`` keeps Odoo's. The files' formats are
in ``models/cliniko_headless.py``; a file with a bad line is refused whole, naming its lines.
``migrate --background`` queues the run for the scheduler instead of running it here; ``work``
is the scheduler for this database's background runs: Odoo's own cron engine
(``ir.cron._process_jobs``), in ``--threads`` threads (default: one per worker), until no run
or job waits. ``--workers N`` first sets how many scheduled jobs (workers) share the runs, the
number a server's ``--max-cron-threads`` threads then work on at once.

With --json the last line of standard output is one JSON object (the step's summary). The exit
status is 0 when the step ended as expected, 1 when it did not (a failed or paused run), and 2
when it was refused before anything changed (e.g. a run on an unconfirmed field map without
--accept-proposed-map, a key Cliniko rejects or cannot be reached with, a file with a bad
line). Odoo loads this file as
``odoo.cli.cliniko``, outside the addon package, so addon code is imported once the registry
is loaded.
"""

import argparse
import json
import logging
import os
import sys

from odoo import SUPERUSER_ID, api
from odoo.cli.command import Command
from odoo.exceptions import UserError
from odoo.modules.registry import Registry
from odoo.tools import config

_logger = logging.getLogger("odoo.cli.cliniko")


class Cliniko(Command):
    """Migrate a clinic from Cliniko into Odoo CRM: audit, sample, migrate, verify, roll back."""

    name = "cliniko"

    def run(self, args):
        parser = self._parser()
        options, odoo_args = parser.parse_known_args(args)
        for flag, value in (
            ("-d", getattr(options, "odoo_database", None)),
            ("-c", getattr(options, "odoo_config", None)),
        ):
            if value:
                odoo_args = [flag, value, *odoo_args]
        config.parse_config(odoo_args, setup_logging=True)
        db_names = config["db_name"]
        if not db_names or len(db_names) != 1:
            parser.error("give exactly one database with -d DB")
        try:
            registry = Registry(db_names[0])
        except Exception as error:  # noqa: BLE001 - e.g. no such database: the user's mistake
            _logger.debug("cannot open %s", db_names[0], exc_info=True)
            self._refuse(
                "Cannot open the database %s (%s)." % (db_names[0], _first_line(error)), options
            )
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            if "cliniko.migration.run" not in env:
                parser.error("the addon cliniko_crm_migration is not installed in %s" % db_names[0])
            try:
                step = getattr(self, "_" + options.command.replace("-", "_"))
                summary, ok = step(env, options, parser)
            except UserError as refused:
                cr.rollback()
                self._refuse(str(refused), options)
            except Exception as error:  # noqa: BLE001 - never a traceback on the terminal
                cr.rollback()
                _logger.exception("cliniko %s failed", options.command)
                message = (
                    "Internal error (%s): the step stopped and nothing of it was saved; the "
                    "traceback is in the Odoo log." % error.__class__.__name__
                )
                sys.stderr.write(message + "\n")
                self._report({"error": message, "internal": True}, options.json)
                sys.exit(1)
            cr.commit()
        self._report(summary, options.json)
        sys.exit(0 if ok else 1)

    def _refuse(self, sentence, options):
        """A user's mistake: one plain sentence (and the JSON line with --json), exit 2."""
        sys.stderr.write(sentence + "\n")
        self._report({"refused": True, "error": sentence}, options.json)
        sys.exit(2)

    def _parser(self):
        parser = argparse.ArgumentParser(
            prog=self.prog,
            description=self.__doc__,
            epilog="Odoo options (-d DB, -c CONFIG, --db_host ...) follow the subcommand.",
        )
        commands = parser.add_subparsers(dest="command", required=True)
        test_connection = commands.add_parser(
            "test-connection",
            help="ask Cliniko who owns the key and how many records it holds (the form's button)",
        )
        audit = commands.add_parser("audit", help="audit the clinic's data before migrating")
        sample = commands.add_parser("sample", help="migrate a sample, with a field-level diff")
        sample.add_argument("--size", type=int, default=200, help="patients (default 200)")
        migrate = commands.add_parser("migrate", help="run a full migration")
        migrate.add_argument("--resources", help="comma-separated Cliniko resources (default all)")
        migrate.add_argument(
            "--background",
            action="store_true",
            help="queue the run for the scheduler's workers instead of running it here",
        )
        work = commands.add_parser(
            "work", help="work on the queued background runs with Odoo's scheduler, then stop"
        )
        work.add_argument("--workers", type=int, help="how many workers share the runs from now")
        work.add_argument("--threads", type=int, help="threads here (default: one per worker)")
        delta = commands.add_parser(
            "delta", help="carry what changed in Cliniko since the last sync into Odoo"
        )
        delta.add_argument(
            "--final", action="store_true", help="the final sync, with its reconciliation"
        )
        map_parser = commands.add_parser(
            "map", help="export the field map to a CSV file, or import a reviewed one"
        )
        map_commands = map_parser.add_subparsers(dest="map_command", required=True)
        map_export = map_commands.add_parser("export", help="write the field map as CSV")
        map_import = map_commands.add_parser("import", help="apply a reviewed CSV field map")
        for sub in (map_export, map_import):
            sub.add_argument("file", metavar="FILE")
            # Known here, so that a FILE after them is not taken for their value; handed on
            # to Odoo's own options in run().
            sub.add_argument("-d", "--database", dest="odoo_database", help="the database")
            sub.add_argument("-c", "--config", dest="odoo_config", help="Odoo's config file")
        map_import.add_argument(
            "--confirm", action="store_true", help="confirm the map once the file is applied"
        )
        for sub in (test_connection, audit, sample, migrate, delta, map_export, map_import):
            sub.add_argument(
                "--api-key",
                help="Cliniko API key; '-' reads it from standard input (else $CLINIKO_API_KEY, "
                "else the connection's). A key on the command line shows in the process list.",
            )
            sub.add_argument("--base-url", help="API base URL override, e.g. a sandbox")
            sub.add_argument("--connection", type=int, help="id of an existing connection")
            sub.add_argument("--contact-email", help="e-mail sent in the User-Agent")
        for sub in (sample, migrate):
            sub.add_argument(
                "--accept-proposed-map",
                action="store_true",
                help="confirm the proposed field map as is when no map is confirmed yet "
                "(without it the run refuses to start on an unconfirmed map)",
            )
            sub.add_argument(
                "--unmatched-practitioners",
                choices=("placeholder", "unassigned"),
                help="what to do with practitioners that match no Odoo user by e-mail "
                "(without it the run pauses before appointments until each has a decision)",
            )
            sub.add_argument(
                "--practitioners",
                metavar="FILE",
                help="CSV (cliniko_practitioner,odoo_user) deciding for practitioners: an Odoo "
                "login, or placeholder or unassigned; the others follow --unmatched-practitioners",
            )
        verify = commands.add_parser("verify", help="reconcile and compare a run field by field")
        rollback = commands.add_parser("rollback", help="roll a run back")
        resume = commands.add_parser(
            "resume",
            help="carry on a run whose process ended in the middle (or a paused run) from "
            "where it stopped",
        )
        for sub in (verify, rollback, resume):
            sub.add_argument("--run", type=int, required=True, dest="run_id")
        conflicts = commands.add_parser(
            "conflicts", help="list or resolve the fields a delta sync left alone"
        )
        conflict_commands = conflicts.add_subparsers(dest="conflicts_command", required=True)
        conflicts_list = conflict_commands.add_parser("list", help="list the conflicts")
        conflicts_list.add_argument(
            "--all", action="store_true", help="resolved conflicts too (default: open ones)"
        )
        conflicts_take = conflict_commands.add_parser(
            "take", help="take Cliniko's value, or keep Odoo's (the list's buttons)"
        )
        conflicts_take.add_argument(
            "--conflict", type=int, action="append", dest="conflict_ids", metavar="ID"
        )
        conflicts_take.add_argument(
            "--all", action="store_true", help="every open conflict (of --connection if given)"
        )
        conflicts_take.add_argument("--side", choices=("cliniko", "odoo"), required=True)
        for sub in (conflicts_list, conflicts_take):
            sub.add_argument("--connection", type=int, help="only this connection's conflicts")
        for sub in (
            test_connection,
            audit,
            sample,
            migrate,
            delta,
            verify,
            rollback,
            resume,
            map_export,
            map_import,
            conflicts_list,
            conflicts_take,
            work,
        ):
            sub.add_argument("--json", action="store_true", help="print the summary as JSON")
        self._import_export_parser(commands)
        return parser

    @staticmethod
    def _import_export_parser(commands):
        sub = commands.add_parser(
            "import-export",
            help="import Cliniko's Data Exports (Patients-Cliniko-<date>.csv, or a ZIP of them)",
        )
        sub.add_argument("--file", action="append", required=True, dest="files", metavar="F")
        sub.add_argument("--connection", type=int, help="id of an existing connection")
        sub.add_argument("--api-key", help="the connection of this key (if it has one)")
        sub.add_argument("--base-url", help="API base URL override, e.g. a sandbox")
        sub.add_argument("--contact-email", help="e-mail sent in the User-Agent")
        sub.add_argument("--name", default="Cliniko", help="a new connection's name (no key)")
        sub.add_argument(
            "--accept-proposed-map",
            action="store_true",
            help="confirm the proposed column map as is (without it, an unconfirmed map stops "
            "the import before anything moves)",
        )
        sub.add_argument("--date-order", choices=("dmy", "mdy"), help="how a/b/yyyy dates read")
        sub.add_argument("--json", action="store_true", help="print the summary as JSON")

    # -- steps ---------------------------------------------------------------------------------
    def _test_connection(self, env, options, parser):
        connection = self._connection(env, options, parser)
        result = connection.cliniko_test_connection()  # a refused key: UserError, exit 2
        summary = {
            "connection_id": connection.id,
            "shard": result["shard"],
            "key_owner": result["key_owner"],
            "records": sum(result["counts"].values()),
            "counts": result["counts"],
            "refused": result["refused"],
            "message": connection.test_message,
        }
        return summary, True

    def _audit(self, env, options, parser):
        connection = self._connection(env, options, parser)
        audit = env["cliniko.source.audit"].cliniko_run_for(connection)
        summary = audit.cliniko_summary()
        return summary, not summary.get("error")

    def _sample(self, env, options, parser):
        run, decided = self._start(
            env, options, parser, run_type="sample", sample_size=options.size
        )
        summary = dict(run.summary(), **run.cliniko_sample_summary())
        if decided is not None:
            summary["practitioners"] = decided
        return summary, run.state == "done"

    def _migrate(self, env, options, parser):
        run, decided = self._start(
            env,
            options,
            parser,
            background=options.background,
            run_type="full",
            resources=options.resources,
        )
        summary = run.summary()
        if decided is not None:
            summary["practitioners"] = decided
        if options.background:
            return summary, run.state == "queued"
        return summary, run.state == "done"  # paused for decisions or failed: non-zero

    def _work(self, env, options, parser):
        """Odoo's own scheduler loop, as a server's cron threads run it, for this database's
        workers only and until nothing waits (``_cliniko_work_here``)."""
        Run = env["cliniko.migration.run"]
        if options.workers is not None:
            if options.workers < 1:
                raise UserError("--workers must be at least 1.")
            Run._cliniko_set_workers(options.workers)
        workers = Run._cliniko_worker_crons().filtered("active")
        threads = options.threads or len(workers) or 1
        if threads < 1:
            raise UserError("--threads must be at least 1.")
        runs = Run._cliniko_background_waiting()
        Run._cliniko_wake_workers()
        env.cr.commit()
        errors = Run._cliniko_work_here(threads)
        env.cr.commit()  # a new snapshot: what the threads committed
        env.invalidate_all()
        summary = {
            "workers": len(workers),
            "threads": threads,
            "runs": [run.summary() for run in runs],
        }
        if errors:
            summary["errors"] = errors
        return summary, not errors and all(run.state == "done" for run in runs)

    def _delta(self, env, options, parser):
        connection = self._connection(env, options, parser)
        summary = connection.with_context(cliniko_run_now=True).cliniko_delta_sync(
            final=options.final
        )
        return summary, summary.get("state") == "done"

    def _resume(self, env, options, parser):
        run = self._run(env, options, parser).with_context(cliniko_run_now=True)
        if run.state == "paused":
            run.action_resume()
        else:
            run.action_start()  # refused unless draft, waiting for decisions, or interrupted
        return run.summary(), run.state == "done"

    def _verify(self, env, options, parser):
        summary = self._run(env, options, parser).cliniko_verify()
        return summary, bool(summary.get("verified"))

    def _rollback(self, env, options, parser):
        run = self._run(env, options, parser)
        run.action_rollback()
        summary = dict(run.summary(), **run.cliniko_rollback_summary())
        return summary, run.state == "rolled_back"

    def _map(self, env, options, parser):
        connection = self._connection(env, options, parser)
        Map = env["cliniko.field.map"]
        if options.map_command == "export":
            existing = Map.cliniko_current_map(connection, propose=False)
            field_map = existing or Map.cliniko_current_map(connection)
            data = field_map.cliniko_export_csv()
            try:
                with open(options.file, "w", encoding="utf-8", newline="") as handle:
                    handle.write(data)
            except OSError as error:
                raise UserError("Cannot write %s (%s)." % (options.file, error.strerror)) from None
            summary = {
                "map_id": field_map.id,
                "name": field_map.name,
                "state": field_map.state,
                "proposed": not existing,
                "used": field_map.cliniko_used,
                "lines": field_map.line_count,
                "custom_lines": field_map.custom_line_count,
                "file": options.file,
            }
            return summary, True
        field_map = Map.cliniko_current_map(connection, propose=False)
        if not field_map:
            raise UserError(
                "The connection %s has no field map yet: write one with 'cliniko map export'."
                % connection.display_name
            )
        summary = field_map.cliniko_import_csv(
            _read_file(options.file), options.file, confirm=options.confirm
        )
        summary["file"] = options.file
        return summary, True

    def _conflicts(self, env, options, parser):
        Conflict = env["cliniko.sync.conflict"]
        domain = [("connection_id", "=", options.connection)] if options.connection else []
        if options.conflicts_command == "list":
            if not options.all:
                domain.append(("state", "=", "open"))
            found = Conflict.search(domain, order="id")
            summary = {
                "open": len(found.filtered(lambda conflict: conflict.state == "open")),
                "conflicts": [_conflict_line(conflict) for conflict in found],
            }
            return summary, True
        if bool(options.conflict_ids) == bool(options.all):
            parser.error("give --conflict ID (once or more) or --all")
        if options.all:
            chosen = Conflict.search(domain + [("state", "=", "open")], order="id")
        else:
            chosen = Conflict.browse(options.conflict_ids).exists()
            missing = sorted(set(options.conflict_ids) - set(chosen.ids))
            if missing:
                raise UserError("No conflict %s." % ", ".join(map(str, missing)))
            if options.connection and chosen.connection_id.ids != [options.connection]:
                raise UserError("Conflict(s) of another connection than %s." % options.connection)
            closed = chosen.filtered(lambda conflict: conflict.state != "open")
            if closed:
                raise UserError(
                    "Conflict %s is resolved already (%s)."
                    % (closed[0].id, dict(closed._fields["state"].selection)[closed[0].state])
                )
        if options.side == "cliniko":
            chosen.action_take_cliniko_value()
        else:
            chosen.action_keep_odoo_value()
        summary = {
            "side": options.side,
            "resolved": chosen.ids,
            "conflicts": [_conflict_line(conflict) for conflict in chosen],
            "open": Conflict.search_count(
                [("connection_id", "in", chosen.connection_id.ids), ("state", "=", "open")]
            ),
        }
        return summary, True

    def _import_export(self, env, options, parser):
        if options.connection or options.api_key:
            connection = self._connection(env, options, parser)
        else:  # a clinic without API access: a connection without a key
            connection = env["cliniko.connection"].search(
                [("name", "=", options.name)], limit=1
            ) or env["cliniko.connection"].create({"name": options.name})
        files = []
        for path in options.files:
            with open(path, "rb") as handle:
                files.append((path.rsplit("/", 1)[-1], handle.read()))
        summary = connection.with_context(cliniko_run_now=True).cliniko_import_exports(
            files, accept_proposed_map=options.accept_proposed_map, date_order=options.date_order
        )
        summary["connection_id"] = connection.id
        return summary, summary.get("state") == "done"

    # -- helpers -------------------------------------------------------------------------------
    def _start(self, env, options, parser, background=False, **values):
        """The run, started (queued for the scheduler with ``background``); and the
        practitioners file's decisions (None without one)."""
        data = _read_file(options.practitioners) if options.practitioners else None
        connection = self._connection(env, options, parser)
        context = {
            "cliniko_accept_proposed_map": options.accept_proposed_map,
            # the command is the worker: no scheduler, no web request (unless background)
            "cliniko_run_now": not background,
            "cliniko_background": background,
        }
        run = (
            env["cliniko.migration.run"]
            .with_context(**context)
            .create(
                dict(
                    values,
                    connection_id=connection.id,
                    unmatched_practitioners=options.unmatched_practitioners or False,
                )
            )
        )
        decided = None
        if data is not None:
            decided = run.cliniko_apply_practitioner_file(data, options.practitioners)
        run.action_start()
        return run, decided

    @staticmethod
    def _run(env, options, parser):
        run = env["cliniko.migration.run"].browse(options.run_id).exists()
        if not run:
            parser.error("no run %s" % options.run_id)
        return run

    @staticmethod
    def _connection(env, options, parser):
        Connection = env["cliniko.connection"]
        if options.connection:
            connection = Connection.browse(options.connection).exists()
            if not connection:
                parser.error("no connection %s" % options.connection)
        else:
            options.api_key = _api_key(options.api_key)
            if not options.api_key:
                parser.error(
                    "give --api-key - (the key on stdin), $CLINIKO_API_KEY or --connection"
                )
            connection = Connection.search(
                [("api_key", "=", options.api_key), ("base_url", "=", options.base_url or False)],
                limit=1,
            )
            if not connection:
                # The User-Agent's contact: the one given, else the e-mail of the Cliniko user
                # who owns the key, else the company's.
                contact = (
                    options.contact_email
                    or Connection._cliniko_key_owner_email(
                        options.api_key, options.base_url, env.company.email
                    )
                    or env.company.email
                )
                if not contact:
                    raise UserError(
                        "Cliniko requires a contact e-mail in the User-Agent, and neither the "
                        "key's Cliniko user nor the company has one: give --contact-email."
                    )
                connection = Connection.create(
                    {
                        "name": "Cliniko",
                        "api_key": options.api_key,
                        "base_url": options.base_url or False,
                        "contact_email": contact,
                    }
                )
        if options.contact_email:
            connection.contact_email = options.contact_email
        return connection

    @staticmethod
    def _report(summary, as_json):
        if as_json:
            sys.stdout.write(json.dumps(summary, default=str) + "\n")
            return
        lines = []
        for key, value in summary.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                lines.append("%s:" % key)
                for inner in value:
                    lines.append("  " + "  ".join("%s=%s" % item for item in inner.items()))
            elif isinstance(value, dict):
                lines.append("%s:" % key)
                for name, inner in value.items():
                    shown = inner
                    if isinstance(inner, dict):
                        shown = "  ".join("%s %s" % item for item in inner.items())
                    lines.append("  %-28s %s" % (name, shown))
            else:
                lines.append("%s: %s" % (key, value))
        sys.stdout.write("\n".join(lines) + "\n")


def _api_key(given):
    """The key from ``--api-key`` ('-': the first line of standard input), else from
    ``$CLINIKO_API_KEY``; None when there is none."""
    if given == "-":
        given = sys.stdin.readline()
    elif not given:
        given = os.environ.get("CLINIKO_API_KEY")
    return (given or "").strip() or None


def _read_file(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise UserError("Cannot read %s (%s)." % (path, error.strerror)) from None


def _conflict_line(conflict):
    """A conflict as the list shows it (its values too, as the list view does)."""
    return {
        "id": conflict.id,
        "state": conflict.state,
        "run_id": conflict.run_id.id or None,
        "connection_id": conflict.connection_id.id,
        "resource": conflict.resource,
        "cliniko_id": conflict.cliniko_id,
        "record": "%s,%s" % (conflict.res_model, conflict.res_id),
        "record_name": conflict.record_name or None,
        "field": conflict.field_name,
        "field_label": conflict.field_label,
        "odoo_value": conflict.odoo_value or "",
        "cliniko_value": conflict.cliniko_value or "",
    }


def _first_line(error):
    return (str(error).strip().splitlines() or [error.__class__.__name__])[0][:200]
