#!/bin/sh
# The unit as a USB CDC-ACM serial gadget (configfs), for hotline-provisioning on /dev/ttyGS0.
#   hotline-gadget.sh up     create and bind the gadget
#   hotline-gadget.sh down   unbind and remove it
# Needs the Pi boot settings in hw/usb-gadget/README.md (dtoverlay=dwc2, modules-load=dwc2).
# USB ids: pid.codes test VID/PID 1209:0001, see udev/README.md; keep them equal to
# USB_VENDOR_ID / USB_PRODUCT_ID in terminal/provisioning/constants.py.
set -eu

CONFIGFS=/sys/kernel/config
GADGET="$CONFIGFS/usb_gadget/hotline"
CONFIG_FILE="${HOTLINE_CONFIG:-/etc/hotline/hotline.toml}"
VENDOR_ID=0x1209
PRODUCT_ID=0x0001
MANUFACTURER="Hotline"
PRODUCT="Hotline terminal"

# The USB serial number names the unit on the laptop (/dev/hotline-<serial>):
# [unit] id from the config, else the Pi's CPU serial number.
unit_serial() {
    id=$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["unit"]["id"])' \
        "$CONFIG_FILE" 2>/dev/null || true)
    if [ -z "$id" ] && [ -r /sys/firmware/devicetree/base/serial-number ]; then
        id=$(tr -d '\0' </sys/firmware/devicetree/base/serial-number)
    fi
    printf '%s' "${id:-unknown}" | tr -c 'A-Za-z0-9_-' '_'
}

up() {
    modprobe libcomposite
    mountpoint -q "$CONFIGFS" || mount -t configfs none "$CONFIGFS"
    [ -d "$GADGET" ] && down
    mkdir -p "$GADGET"
    cd "$GADGET"
    echo "$VENDOR_ID" >idVendor
    echo "$PRODUCT_ID" >idProduct
    echo 0x0100 >bcdDevice
    echo 0x0200 >bcdUSB
    # Miscellaneous device with an Interface Association Descriptor: CDC-ACM
    # then binds without a driver on Linux, macOS and Windows 10+.
    echo 0xEF >bDeviceClass
    echo 0x02 >bDeviceSubClass
    echo 0x01 >bDeviceProtocol
    mkdir -p strings/0x409
    unit_serial >strings/0x409/serialnumber
    echo "$MANUFACTURER" >strings/0x409/manufacturer
    echo "$PRODUCT" >strings/0x409/product
    mkdir -p configs/c.1/strings/0x409
    echo "provisioning serial" >configs/c.1/strings/0x409/configuration
    echo 250 >configs/c.1/MaxPower
    mkdir -p functions/acm.usb0
    ln -s functions/acm.usb0 configs/c.1/
    udc=$(ls /sys/class/udc | head -n 1)
    if [ -z "$udc" ]; then
        echo "hotline-gadget: no USB device controller; is dtoverlay=dwc2 set and the dwc2 module loaded?" >&2
        exit 1
    fi
    echo "$udc" >UDC
}

down() {
    [ -d "$GADGET" ] || return 0
    cd "$GADGET"
    echo "" >UDC 2>/dev/null || true
    rm -f configs/c.1/acm.usb0
    rmdir configs/c.1/strings/0x409 configs/c.1 functions/acm.usb0 strings/0x409 2>/dev/null || true
    cd /
    rmdir "$GADGET"
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
