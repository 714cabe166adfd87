"""Check the engine's layers (docs: README.rst, STYLE.md "Layers of the engine") with import-linter.

    python tools/lint_imports.py        # from anywhere; extra arguments go to lint-imports

The contract is in ``.importlinter`` (root package ``cliniko_crm_migration``). import-linter
reads the source, never runs it, but it must find the root package on ``sys.path`` under that
name, and the repository's root *is* the addon (in Odoo it is ``odoo.addons.<name>``, whatever
the checkout's directory is called). So this puts a symlink named ``cliniko_crm_migration`` to
the checkout in a temporary directory, puts that directory first on ``sys.path`` and runs
import-linter's command (``lint-imports``) with the checkout's ``.importlinter``. Nothing of the
addon is imported (its ``__init__.py`` would import Odoo).
"""

import os
import sys
import tempfile
from pathlib import Path

ADDON = "cliniko_crm_migration"
ROOT = Path(__file__).resolve().parent.parent


def main(argv):
    from importlinter.cli import lint_imports_command  # noqa: PLC0415 - after sys.path is set

    with tempfile.TemporaryDirectory(prefix="lint-imports-") as shim:
        os.symlink(ROOT, Path(shim, ADDON), target_is_directory=True)
        sys.path.insert(0, shim)
        os.chdir(ROOT)
        # import-linter caches the graph under the working directory; no cache: no stray files
        args = [str(ROOT / ".importlinter"), "--no-cache", *argv]
        return lint_imports_command.main(args, standalone_mode=False)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
