"""Finding units plugged into this laptop: by USB vendor/product id, and by udev link."""

from __future__ import annotations

import glob
import os

from serial.tools import list_ports

from terminal.provisioning.constants import USB_PRODUCT_ID, USB_VENDOR_ID


def list_units(dev_dir: str = "/dev") -> list[dict]:
    """Each unit once: its port, USB serial number and any /dev/hotline-* link to it."""
    units = {}
    for port in list_ports.comports():
        if (port.vid, port.pid) == (USB_VENDOR_ID, USB_PRODUCT_ID):
            units[os.path.realpath(port.device)] = {
                "port": port.device,
                "serial": port.serial_number,
                "product": port.product,
                "links": [],
            }
    for link in sorted(glob.glob(os.path.join(dev_dir, "hotline-*"))):
        target = os.path.realpath(link)
        unit = units.setdefault(
            target, {"port": target, "serial": os.path.basename(link)[len("hotline-"):], "product": None, "links": []}
        )
        unit["links"].append(link)
    return list(units.values())
