"""Protocol numbers in one place."""

# 2: identity bundles of format 2 (ML-KEM-768 and ML-DSA-65 keys, two signatures; about 9 KB
# of JSON), so messages up to 16 KiB. A host and a unit of different versions say so at HELLO
# instead of failing on a frame the other cannot take.
PROTOCOL_VERSION = 2

# Largest message (header + JSON body) before framing. A journal chunk is
# base64 inside JSON, so JOURNAL_CHUNK raw bytes must fit with room to spare;
# so must an identity bundle (EXPORT's result, INSTALL_PEER's argument): 9.1 KB.
MAX_MESSAGE = 16384
JOURNAL_CHUNK = 4096

# Frame = COBS(length u16 | message | CRC-32 u32) + 0x00.
FRAME_OVERHEAD = 6
DELIMITER = b"\x00"

# Physical presence: the provisioning button pressed within this many seconds.
PRESENCE_WINDOW = 60.0

# The unit forgets a half-received frame after this long without a byte.
FRAME_TIMEOUT = 1.0

# Host waits this long for each response (a self-test resets it per result).
RESPONSE_TIMEOUT = 5.0

# USB identity of the unit's CDC-ACM gadget: pid.codes test VID/PID (see udev/README.md).
USB_VENDOR_ID = 0x1209
USB_PRODUCT_ID = 0x0001
USB_MANUFACTURER = "Hotline"
USB_PRODUCT = "Hotline terminal"

# The snapshot of the journal (terminal.journal.store.JOURNAL_FILE) served to the host.
JOURNAL_SNAPSHOT_FILE = "journal-snapshot.sqlite"
