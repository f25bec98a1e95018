"""The gadget script, udev rule and systemd unit agree with the protocol's constants."""

import re
import subprocess
from pathlib import Path

from terminal.provisioning.constants import USB_MANUFACTURER, USB_PRODUCT, USB_PRODUCT_ID, USB_VENDOR_ID

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "hw/usb-gadget/hotline-gadget.sh"


def test_gadget_script_is_valid_shell():
    result = subprocess.run(["sh", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_gadget_script_uses_the_protocols_usb_identity():
    text = SCRIPT.read_text()
    assert int(re.search(r"^VENDOR_ID=(0x[0-9a-fA-F]+)$", text, re.M).group(1), 16) == USB_VENDOR_ID
    assert int(re.search(r"^PRODUCT_ID=(0x[0-9a-fA-F]+)$", text, re.M).group(1), 16) == USB_PRODUCT_ID
    assert f'MANUFACTURER="{USB_MANUFACTURER}"' in text and f'PRODUCT="{USB_PRODUCT}"' in text


def test_provisioning_unit_runs_the_service_on_the_gadget_port():
    text = (ROOT / "hw/systemd/hotline-provisioning.service").read_text()
    exec_start = re.search(r"^ExecStart=(.*)$", text, re.M).group(1).split()
    assert exec_start[1:3] == ["-m", "terminal.provisioning.service"]
    assert exec_start[exec_start.index("--port") + 1] == "/dev/ttyGS0"
    from terminal.provisioning.service import main  # the module the unit names exists

    assert callable(main)
