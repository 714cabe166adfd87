"""The addon's wheel, built the OCA way (whool through pip), and what it installs (no database).

Pure pytest: runs under pytest-odoo (tools/test.sh) and under plain pytest without Odoo
(tools/pure_pytest.py). Building and installing the wheel takes a few seconds.
"""

import ast
import email.parser
import importlib.util
import os
import subprocess
import sys
import zipfile

import pytest

from ..tools.build_wheel import ADDON, ADDON_DIR, build_wheel, packaged_files

PREFIX = f"odoo/addons/{ADDON}/"
MANIFEST = ast.literal_eval((ADDON_DIR / "__manifest__.py").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    # Offline and fast: the whool of this environment, not one pip would fetch from PyPI.
    assert importlib.util.find_spec("whool"), (
        "whool is missing: pip install -r requirements-test.txt"
    )
    return build_wheel(tmp_path_factory.mktemp("dist"), isolation=False)


@pytest.fixture(scope="module")
def names(wheel):
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


@pytest.fixture(scope="module")
def metadata(wheel):
    with zipfile.ZipFile(wheel) as archive:
        dist_info = f"odoo_addon_{ADDON}-{MANIFEST['version']}.dist-info"
        return email.parser.Parser().parsestr(archive.read(f"{dist_info}/METADATA").decode())


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    target = tmp_path_factory.mktemp("site-packages")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        + ["--no-deps", "--no-index", "--target", str(target), str(wheel)],
        check=True,
    )
    return target


def test_the_wheel_is_named_after_the_addon_and_its_manifest_version(wheel, metadata):
    assert wheel.name == f"odoo_addon_{ADDON}-{MANIFEST['version']}-py3-none-any.whl"
    assert metadata["Name"] == f"odoo-addon-{ADDON}"
    assert metadata["Version"] == MANIFEST["version"]
    assert metadata["License"] == MANIFEST["license"]
    assert metadata["Summary"] == MANIFEST["summary"]


def test_it_requires_odoo_19_and_the_manifest_python_dependencies(metadata):
    requires = metadata.get_all("Requires-Dist")
    assert "odoo==19.0.*" in requires
    # crm and product are Odoo's own addons: no odoo-addon-* requirement for them.
    assert not [r for r in requires if r.startswith("odoo-addon")]
    by_name = {r.split(">")[0].split("=")[0].strip(): r for r in requires}
    for package in MANIFEST["external_dependencies"]["python"]:
        assert package in by_name, f"{package} is not a requirement of the wheel: {requires}"
    assert by_name["requests"] == "requests>=2.31"
    assert by_name["phonenumbers"] == "phonenumbers>=8.13"


def test_it_ships_the_addon_and_nothing_but_the_addon(names):
    addon_files = {n.removeprefix(PREFIX) for n in names if n.startswith(PREFIX)}
    others = {n for n in names if not n.startswith(PREFIX)}
    assert {n.split("/")[0] for n in others} == {
        f"odoo_addon_{ADDON}-{MANIFEST['version']}.dist-info"
    }
    for required in ["__init__.py", "__manifest__.py", "tests/__init__.py", *MANIFEST["data"]]:
        assert required in addon_files, f"{required} is missing from the wheel"
    for package_dir in ("models", "migration", "cliniko_api", "wizards", "tools"):
        assert f"{package_dir}/__init__.py" in addon_files
    assert "static/tests/tours" in {os.path.dirname(n) for n in addon_files}
    # Exactly the git-tracked files, minus the repository's own dotfiles and pyproject.toml.
    assert addon_files == set(packaged_files()) - {"pyproject.toml"}
    junk = [
        n
        for n in addon_files
        if n.startswith(".") or "/." in n or "__pycache__" in n or n.endswith((".pyc", ".pyo"))
    ]
    assert not junk, junk
    assert not [n for n in addon_files if n.startswith(("dist/", "build/"))]


def test_installing_it_puts_the_addon_in_the_odoo_addons_namespace(installed):
    addon_dir = installed / "odoo" / "addons" / ADDON
    assert (addon_dir / "__manifest__.py").is_file()
    assert (addon_dir / "migration" / "values.py").is_file()
    # odoo and odoo.addons are namespace packages in Odoo 19: an __init__.py here would hide Odoo.
    assert not (installed / "odoo" / "__init__.py").exists()
    assert not (installed / "odoo" / "addons" / "__init__.py").exists()


def test_odoo_finds_the_installed_addon_without_an_addons_path(installed):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(installed), env.get("PYTHONPATH")]))
    probe = subprocess.run(
        [sys.executable, "-c", "import odoo.modules.module"],
        env=env,
        capture_output=True,
        check=False,
    )
    if probe.returncode:
        pytest.skip("Odoo is not importable here (tools/test.sh runs this test with Odoo)")
    found = subprocess.run(
        [
            sys.executable,
            "-c",
            "from odoo.modules.module import get_module_path, get_manifest;"
            f"print(get_module_path({ADDON!r})); print(get_manifest({ADDON!r})['version'])",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert found == [str(installed / "odoo" / "addons" / ADDON), MANIFEST["version"]]
