"""The laptop's udev rule, made from the protocol's USB ids, and `install-udev`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from terminal.provisioning.constants import USB_PRODUCT_ID, USB_VENDOR_ID

RULE_FILE = "70-hotline-host.rules"
UDEV_DIR = Path("/etc/udev/rules.d")


def laptop_rule() -> str:
    return (
        "# hotline-host: a hotline unit's USB serial port as /dev/hotline-<serial>, usable without root\n"
        "# by members of the dialout group and by the user logged in at the desktop (uaccess).\n"
        "# Written by `hotline-host install-udev`; see udev/README.md for the vendor/product id.\n"
        f'SUBSYSTEM=="tty", ATTRS{{idVendor}}=="{USB_VENDOR_ID:04x}", ATTRS{{idProduct}}=="{USB_PRODUCT_ID:04x}", '
        'ATTRS{serial}=="?*", SYMLINK+="hotline-$attr{serial}", GROUP="dialout", MODE="0660", TAG+="uaccess"\n'
    )


def install_udev(dest_dir: Path = UDEV_DIR, reload: bool = True) -> Path:
    """Write the rule and ask udev to apply it to units already plugged in."""
    target = Path(dest_dir) / RULE_FILE
    target.write_text(laptop_rule(), "ascii")
    udevadm = shutil.which("udevadm")
    if reload and udevadm:
        subprocess.run([udevadm, "control", "--reload-rules"], check=False)
        subprocess.run([udevadm, "trigger", "--subsystem-match=tty"], check=False)
    return target
