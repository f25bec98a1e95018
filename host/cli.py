"""hotline-host: the technician's tool (filled in by the provisioning issue)."""

import sys


def main(argv=None):
    print("hotline-host: not yet implemented", file=sys.stderr)
    return 2
