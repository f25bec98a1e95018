"""Entry point for ``python -m terminal.netsim``."""

import sys

from terminal.netsim.cli import main

sys.exit(main())
