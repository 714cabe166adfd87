"""A pytest plugin that runs the addon's pure-Python tests with plain pytest, without Odoo.

    python -m pytest -p tools.pure_pytest            # from the addon's root directory

The obstacle it removes: ``tests/`` is a package inside the addon package, and both
``__init__.py`` files import Odoo (the addon's imports its models; the tests' imports every test
module, so that Odoo's own runner finds them). Plain pytest imports a test module through its
packages, and so would import Odoo. This plugin instead registers the addon and its ``tests``
package as bare packages under the addon's name (``cliniko_crm_migration``, whatever the
checkout's directory is called) WITHOUT running their ``__init__.py``, then imports the pure
test modules under that name, so their relative imports (``..cliniko_api``, ``..tools``,
``..migration.values``) resolve as they do in Odoo. The pure subpackages are imported for real.

Only the modules in ``PURE_TESTS`` are collected, and importing ``odoo`` is refused while they
run, so a pure test that starts to need Odoo fails loudly instead of being skipped. The same
modules also run, unchanged, under pytest-odoo (tools/test.sh), which does not load this plugin.
"""

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from pathlib import Path

import pytest

ADDON = "cliniko_crm_migration"
ADDON_DIR = Path(__file__).resolve().parent.parent
TESTS_DIR = ADDON_DIR / "tests"

# Test modules that need neither Odoo nor a database. Add a module here when it is pure.
PURE_TESTS = (
    "test_client.py",
    "test_data_exports_parser.py",
    "test_expectations.py",
    "test_layers.py",
    "test_page_reader.py",
    "test_rendering.py",
    "test_sandbox.py",
    "test_sandbox_strictness.py",
    "test_values.py",
    "test_wheel.py",
)


class _RefuseOdoo(importlib.abc.MetaPathFinder):
    """Make ``import odoo`` fail even where Odoo happens to be importable."""

    def find_spec(self, name, path=None, target=None):
        if name == "odoo" or name.startswith("odoo."):
            raise ModuleNotFoundError(f"No module named {name!r} (pure tests run without Odoo)")


def _bare_package(name, directory):
    """A package whose submodules are found in ``directory``, its __init__.py left unrun."""
    spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
    spec.submodule_search_locations = [str(directory)]
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    return module


def pytest_configure(config):
    for name in list(sys.modules):
        if name == "odoo" or name.startswith("odoo."):
            raise pytest.UsageError(
                "tools.pure_pytest runs the tests without Odoo, but Odoo is already imported "
                "(is pytest-odoo loaded? add -p no:odoo)"
            )
    for arg in config.args:  # a test module named on the command line that needs Odoo
        path = Path(config.invocation_params.dir, arg.split("::")[0]).resolve()
        if path.parent == TESTS_DIR and path.suffix == ".py" and not _is_pure(path):
            raise pytest.UsageError(f"tests/{path.name} needs Odoo: run it with tools/test.sh")
    sys.meta_path.insert(0, _RefuseOdoo())
    _bare_package(ADDON, ADDON_DIR)
    _bare_package(f"{ADDON}.tests", TESTS_DIR)


def _is_pure(path):
    return path.parent == TESTS_DIR and path.name in PURE_TESTS


def pytest_ignore_collect(collection_path, config):
    path = Path(collection_path)
    if path.parent == TESTS_DIR and path.suffix == ".py" and not _is_pure(path):
        return True
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collect_directory(path, parent):
    # A plain directory, not a pytest Package: a Package would import the __init__.py files.
    if Path(path) in (ADDON_DIR, TESTS_DIR):
        return pytest.Dir.from_parent(parent, path=Path(path))
    return None


class PureModule(pytest.Module):
    """A test module imported under the addon's package name, not by its file's location."""

    def _getobj(self):
        return importlib.import_module(f"{ADDON}.tests.{self.path.stem}")


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path, parent):
    path = Path(module_path)
    if _is_pure(path):
        return PureModule.from_parent(parent, path=path)
    return None
