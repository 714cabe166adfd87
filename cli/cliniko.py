"""Headless Cliniko migration commands, for scripts and CI.

    odoo-bin --addons-path=PATHS cliniko migrate -d DB [-c CONFIG]
             --api-key KEY --base-url URL --json
    odoo-bin --addons-path=PATHS cliniko rollback -d DB --run RUN_ID --json

With --json the last line of standard output is one JSON object (the run's summary). The exit
status is non-zero when the run did not end as expected. Odoo loads this file as
``odoo.cli.cliniko``, outside the addon package, so addon code is imported once the registry
is loaded.
"""

import argparse
import json
import logging
import sys

from odoo import SUPERUSER_ID, api
from odoo.cli.command import Command
from odoo.modules.registry import Registry
from odoo.tools import config

_logger = logging.getLogger("odoo.cli.cliniko")


class Cliniko(Command):
    """Migrate a clinic from Cliniko into Odoo CRM, or roll a run back."""

    name = "cliniko"

    def run(self, args):
        parser = argparse.ArgumentParser(
            prog=self.prog,
            description=self.__doc__,
            epilog="Odoo options (-d DB, -c CONFIG, --db_host ...) follow the subcommand.",
        )
        commands = parser.add_subparsers(dest="command", required=True)
        migrate = commands.add_parser("migrate", help="run a full migration")
        migrate.add_argument("--api-key", help="Cliniko API key (else the connection's)")
        migrate.add_argument("--base-url", help="API base URL override, e.g. a sandbox")
        migrate.add_argument("--connection", type=int, help="id of an existing connection")
        migrate.add_argument("--contact-email", help="e-mail sent in the User-Agent")
        migrate.add_argument("--resources", help="comma-separated Cliniko resources (default all)")
        migrate.add_argument(
            "--unmatched-practitioners",
            choices=("placeholder", "unassigned"),
            help="what to do with practitioners that match no Odoo user by e-mail (without it "
            "the run pauses before appointments until each has a decision)",
        )
        rollback = commands.add_parser("rollback", help="roll a run back")
        rollback.add_argument("--run", type=int, required=True, dest="run_id")
        for sub in (migrate, rollback):
            sub.add_argument("--json", action="store_true", help="print the summary as JSON")
        options, odoo_args = parser.parse_known_args(args)
        config.parse_config(odoo_args, setup_logging=True)
        db_names = config["db_name"]
        if not db_names or len(db_names) != 1:
            parser.error("give exactly one database with -d DB")
        registry = Registry(db_names[0])
        with registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            if "cliniko.migration.run" not in env:
                parser.error("the addon cliniko_crm_migration is not installed in %s" % db_names[0])
            if options.command == "migrate":
                run = self._migrate(env, options, parser)
                ok = run.state == "done"  # paused for decisions or failed: non-zero
            else:
                run = env["cliniko.migration.run"].browse(options.run_id).exists()
                if not run:
                    parser.error("no run %s" % options.run_id)
                run.action_rollback()
                ok = run.state == "rolled_back"
            cr.commit()
            summary = run.summary()
        self._report(summary, options.json)
        sys.exit(0 if ok else 1)

    def _migrate(self, env, options, parser):
        Connection = env["cliniko.connection"]
        if options.connection:
            connection = Connection.browse(options.connection).exists()
            if not connection:
                parser.error("no connection %s" % options.connection)
        else:
            if not options.api_key:
                parser.error("give --api-key (or --connection)")
            connection = Connection.search(
                [("api_key", "=", options.api_key), ("base_url", "=", options.base_url or False)],
                limit=1,
            )
            if not connection:
                connection = Connection.create(
                    {
                        "name": "Cliniko",
                        "api_key": options.api_key,
                        "base_url": options.base_url or False,
                        "contact_email": options.contact_email
                        or env.company.email
                        or env.ref("base.user_admin").email,
                    }
                )
        if options.contact_email:
            connection.contact_email = options.contact_email
        run = env["cliniko.migration.run"].create(
            {
                "connection_id": connection.id,
                "run_type": "full",
                "resources": options.resources,
                "unmatched_practitioners": options.unmatched_practitioners or False,
            }
        )
        run.action_start()
        return run

    @staticmethod
    def _report(summary, as_json):
        if as_json:
            sys.stdout.write(json.dumps(summary) + "\n")
            return
        lines = ["run %s: %s" % (summary["run_id"], summary["state"])]
        for resource, counts in summary["resources"].items():
            lines.append(
                "  %-28s " % resource
                + "  ".join("%s %s" % (name, value) for name, value in counts.items())
            )
        if summary.get("error"):
            lines.append("  error: %s" % summary["error"])
        sys.stdout.write("\n".join(lines) + "\n")
