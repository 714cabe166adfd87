"""The engine's layers (``.importlinter``): the contract holds and places every engine module.

Pure pytest: runs under pytest-odoo (tools/test.sh) and under plain pytest without Odoo
(tools/pure_pytest.py). import-linter reads the source only; a run takes about a second.
"""

import configparser
import subprocess
import sys

from ..tools.lint_imports import ADDON, ROOT


def _layers():
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter", encoding="utf-8")
    lines = config["importlinter:contract:layers"]["layers"].splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def test_the_layers_contract_is_kept():
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "lint_imports.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout


def test_every_module_of_the_engine_has_a_layer():
    placed = {
        name.strip()
        for layer in _layers()
        for group in layer.split("|")
        for name in group.split(":")
    }
    modules = {
        f"{ADDON}.migration.{path.stem}"
        for path in (ROOT / "migration").glob("*.py")
        if path.stem != "__init__"
    }
    assert modules - placed == set(), "add these modules to a layer of .importlinter"
    assert {f"{ADDON}.models", f"{ADDON}.wizards", f"{ADDON}.cliniko_api"} <= placed


def test_the_layers_go_bottom_up():
    order = [layer.split(":")[0].split("|")[0].strip() for layer in _layers()]
    assert order[0] == f"{ADDON}.models"
    assert order.index(f"{ADDON}.migration.runner") < order.index(f"{ADDON}.migration.importer")
    assert order[-1] == f"{ADDON}.cliniko_api"
