"""hw/systemd/hotline-selftest.{service,timer}: valid for systemd, hourly, and running `hotline selftest`."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ("hotline.service", "hotline-selftest.service", "hotline-selftest.timer", "hotline-provisioning.service",
         "../usb-gadget/hotline-gadget.service")
# Where the hotline-unit package (debian/) puts them.
INSTALLED_PYTHON = "/opt/venvs/hotline-unit/bin/python"
INSTALLED_HOTLINE = "/usr/bin/hotline"
INSTALLED_GADGET_DIR = "/usr/libexec/hotline/"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_units_pass_systemd_analyze_verify(tmp_path):
    """Verified as installed, with the package's paths pointed at this checkout and its interpreter."""
    hotline = Path(sys.executable).parent / "hotline"
    for name in UNITS:
        text = ((ROOT / "hw/systemd" / name).read_text().replace(INSTALLED_PYTHON, sys.executable)
                .replace(INSTALLED_HOTLINE + " ", f"{hotline} ")
                .replace(INSTALLED_GADGET_DIR, f"{ROOT}/hw/usb-gadget/"))
        (tmp_path / Path(name).name).write_text(text)
    result = subprocess.run(["systemd-analyze", "verify", *(str(tmp_path / Path(n).name) for n in UNITS)],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_timer_is_hourly_and_service_runs_the_selftest_command():
    timer = (ROOT / "hw/systemd/hotline-selftest.timer").read_text()
    assert re.search(r"^OnCalendar=hourly$", timer, re.M)
    assert re.search(r"^Unit=hotline-selftest.service$", timer, re.M)
    service = (ROOT / "hw/systemd/hotline-selftest.service").read_text()
    exec_start = re.search(r"^ExecStart=(.*)$", service, re.M).group(1).split()
    assert exec_start[:2] == [INSTALLED_HOTLINE, "selftest"]
    assert "--json" in exec_start and re.search(r"^Type=oneshot$", service, re.M)
