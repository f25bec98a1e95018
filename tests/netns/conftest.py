"""Two network namespaces joined by a veth pair: the project's own test hosts.

Needs root (CI runs as root). Elsewhere the tests skip, saying why.
"""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

A_IP, B_IP = "10.231.0.1", "10.231.0.2"

needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="network namespaces need root; CI runs these as root"
)


def sh(*args: str, stdin: str | None = None) -> str:
    proc = subprocess.run(args, capture_output=True, text=True, input=stdin)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


class Hosts:
    def __init__(self):
        tag = uuid.uuid4().hex[:6]
        self.a, self.b = f"hl-a-{tag}", f"hl-b-{tag}"
        for ns in (self.a, self.b):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", f"va{tag}", "netns", self.a, "type", "veth", "peer", "name", f"vb{tag}", "netns", self.b)
        sh("ip", "-n", self.a, "addr", "add", f"{A_IP}/24", "dev", f"va{tag}")
        sh("ip", "-n", self.b, "addr", "add", f"{B_IP}/24", "dev", f"vb{tag}")
        sh("ip", "-n", self.a, "link", "set", f"va{tag}", "up")
        sh("ip", "-n", self.b, "link", "set", f"vb{tag}", "up")

    def drop_percent(self, ns: str, percent: int) -> None:
        """Random inbound loss with nftables (this kernel has no netem)."""
        script = (
            "table inet hlloss {\n chain input {\n type filter hook input priority 0;\n"
            f" meta l4proto udp numgen random mod 100 < {percent} drop\n }}\n}}\n"
        )
        sh("ip", "netns", "exec", ns, "nft", "-f", "-", stdin=script)

    def close(self):
        for ns in (self.a, self.b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@pytest.fixture
def hosts():
    h = Hosts()
    try:
        yield h
    finally:
        h.close()
