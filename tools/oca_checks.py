"""OCA's ``oca-checks-odoo-module`` on this addon, whose directory is the repository's root.

    python tools/oca_checks.py [--fix] [--disable check,...] [files...]

The hook's own entry point (oca-odoo-pre-commit-hooks) finds a file's module by walking up to
its ``__manifest__.py`` but stops BELOW the git root: OCA repositories hold addons in
subdirectories, and on a repository that is itself the addon it finds no module, checks nothing
and exits 0. It also names the module after its directory, which a checkout or worktree may
name otherwise (module-name checks such as xml-redundant-module-name). This runs the same
checker on the whole addon, named ``cliniko_crm_migration``, and reports as the hook does; the
file names pre-commit passes are ignored (the checks need the whole module anyway).
"""

import argparse
import sys
from pathlib import Path

from oca_pre_commit_hooks import utils
from oca_pre_commit_hooks.checks_odoo_module import ChecksOdooModule

ADDON = "cliniko_crm_migration"
ADDON_DIR = Path(__file__).resolve().parent.parent


def _names(value):
    return {name.strip() for name in value.split(",") if name.strip()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("files", nargs="*", help="ignored: the whole addon is checked")
    parser.add_argument("--fix", action="store_true", help="let the checks fix what they can")
    parser.add_argument("--enable", "-e", type=_names, default=set())
    parser.add_argument("--disable", "-d", type=_names, default=set())
    args = parser.parse_args(argv)
    checker = ChecksOdooModule(
        str(ADDON_DIR / "__manifest__.py"), args.enable, args.disable, autofix=args.fix
    )
    checker.odoo_addon_name = ADDON
    for check in utils.getattr_checks(checker):
        check()
    errors = sorted(checker.checks_errors)
    for error in errors:
        sys.stdout.write(f"{error}\n\n")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
