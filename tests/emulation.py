"""What cannot run under qemu-user emulation (scripts/arm64 runs the suite there and sets
HOTLINE_EMULATED), each with its reason. Natively these tests run, and a missing tool fails them."""

from __future__ import annotations

import os

import pytest

EMULATED = os.environ.get("HOTLINE_EMULATED", "")

needs_netfilter = pytest.mark.skipif(
    bool(EMULATED), reason=f"nftables under {EMULATED}: qemu-user refuses netfilter sockets; runs natively")
needs_browser = pytest.mark.skipif(
    bool(EMULATED), reason=f"chromium under {EMULATED}: not runnable under qemu-user; runs natively")
# A call's audio runs in real time: under qemu-user every frame costs many times what it does
# on a Pi, so speech scores and gaps measured there are the emulator's, not the unit's.
needs_real_time = pytest.mark.skipif(
    bool(EMULATED), reason=f"real-time audio under {EMULATED}: the emulator's speed, not the unit's, "
                           "decides speech scores and gaps; runs natively")
