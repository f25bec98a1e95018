"""What the arm64 stage (scripts/arm64, run by scripts/run-tests as root) is made of: the parts
that decide whether it proves anything. The stage itself runs after the native suite."""

from __future__ import annotations

import re
from pathlib import Path

from tests.arm64 import arm64

CONTROL = (Path(__file__).resolve().parents[2] / "debian" / "control").read_text()


def _unit_depends() -> set[str]:
    stanza = CONTROL.split("Package: hotline-unit", 1)[1].split("\nPackage:", 1)[0]
    field = re.search(r"^Depends:(.*?)^\S", stanza, re.M | re.S).group(1)
    return {re.sub(r"\(.*?\)", "", d).strip() for d in field.split(",")} - {"", "${misc:Depends}", "${shlibs:Depends}"}


def test_the_builder_has_every_build_dependency_by_a_name_apt_installs():
    names = arm64.builder_packages()
    assert {"debhelper", "dh-virtualenv", "python3-dev", "python3-venv", "portaudio19-dev", "build-essential"} <= set(names)
    assert not [n for n in names if "(" in n or "compat" in n or n.startswith("#")]


def test_the_clean_root_holds_none_of_the_units_own_dependencies():
    """apt must find each one from hotline-unit's declarations, or the stage proves nothing."""
    depends = _unit_depends()
    assert {"libopus0", "libportaudio2", "procps", "python3"} <= depends
    assert not depends & set(arm64.CLEAN_PACKAGES)


def test_the_suite_runs_against_the_installed_package_not_the_checkout():
    assert set(arm64.CODE_EXCLUDED) == {"terminal", "host"}
    assert all(path.startswith("tests/") and reason for path, reason in arm64.TESTS_NOT_RUN.items())
