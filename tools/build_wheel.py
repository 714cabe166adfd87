"""Build the addon's wheel the OCA way: whool (the build backend in pyproject.toml) via pip.

    python tools/build_wheel.py [--outdir dist]

gives ``odoo_addon_cliniko_crm_migration-<version>-py3-none-any.whl``; installing it
(``pip install <wheel>``) puts the addon in ``odoo/addons/cliniko_crm_migration`` of the
environment, where Odoo 19 finds it without ``--addons-path``, and pulls ``Requires-Dist``:
``odoo==19.0.*`` and the manifest's Python ``external_dependencies``.

In a checkout whose directory is named ``cliniko_crm_migration`` plain
``pip wheel --no-deps -w dist .`` does the same, but whool names the distribution after the
directory and ships every git-tracked file. This script works from any checkout: it copies the
git-tracked files (as they are in the working tree) into a directory of the right name, minus
the repository's own dotfiles (.ci/, .gitignore, lint configs), which configure the repository
and are no part of the installed addon, and builds there. A copy outside git also gives the
manifest's version as is, without whool's ``.devN`` commit counter.
"""

import argparse
import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ADDON = "cliniko_crm_migration"
ADDON_DIR = Path(__file__).resolve().parent.parent


def tracked_files(root=ADDON_DIR):
    """The git-tracked files of the checkout that exist in its working tree."""
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, check=True, capture_output=True
    ).stdout.decode()
    return [name for name in out.split("\0") if name and (root / name).is_file()]


def packaged_files(root=ADDON_DIR):
    return [name for name in tracked_files(root) if not name.startswith(".")]


def stage(dest, root=ADDON_DIR):
    """Copy what the wheel ships into ``dest/cliniko_crm_migration``; return that directory."""
    addon_dir = Path(dest) / ADDON
    for name in packaged_files(root):
        target = addon_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    return addon_dir


def build_wheel(outdir, root=ADDON_DIR, isolation=None):
    """Build the wheel into ``outdir`` and return its path.

    Without build isolation pip uses the whool installed here (offline, about a second);
    with it pip first fetches whool from the package index. By default: isolation only
    when whool is not installed.
    """
    if isolation is None:
        isolation = importlib.util.find_spec("whool") is None
    outdir = Path(outdir).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cliniko-wheel-") as tmp:
        addon_dir = stage(tmp, root)
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet"]
        command += ["--disable-pip-version-check", "--wheel-dir", str(outdir)]
        if not isolation:
            command.append("--no-build-isolation")
        subprocess.run([*command, str(addon_dir)], check=True, cwd=tmp)
    wheels = sorted(outdir.glob(f"odoo_addon_{ADDON}-*.whl"), key=lambda p: p.stat().st_mtime)
    if not wheels:
        raise RuntimeError(f"pip built no odoo_addon_{ADDON} wheel in {outdir}")
    return wheels[-1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--outdir", default=str(ADDON_DIR / "dist"), help="default: dist/")
    parser.add_argument(
        "--isolation",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="build in an isolated environment (pip fetches whool); default: only when "
        "whool is not installed",
    )
    args = parser.parse_args(argv)
    sys.stdout.write(f"{build_wheel(args.outdir, isolation=args.isolation)}\n")


if __name__ == "__main__":
    main()
