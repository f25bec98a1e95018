"""A handshake flood at a live unit: stranger initiations (valid mac1, keys it does not pin) from
many source addresses. What each costs the unit's CPU, and whether the genuine peer, told to
reload mid-flood, still re-links within 1 s.

    .venv/bin/python tests/bench/bench_flood.py [--rate PPS] [--sources N] [--seconds S]

Both sides in the same run with the same pair: the peer's reload-to-reachable time first with
no flood (baseline), then with the flood at B. Two real daemons (`hotline run`) on loopback;
the flood comes from N sockets bound to 127.0.1.x (each its own source address), paced at
--rate packets a second. Measured: B's CPU time from /proc (user + system) over the flood
window, less its idle CPU over an equal window measured before, divided by the packets sent;
A's time from SIGHUP (reload: new link session, so a new handshake) to its log saying the
peer is reachable; B's drop counters from `hotline status --json`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey  # noqa: E402

from terminal.keys import load_keys  # noqa: E402
from terminal.link.session import LinkSession  # noqa: E402
from terminal.sim.provision import provision_pair  # noqa: E402
from tests.daemonlog import read_until  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def stranger_initiations(b_static_public: bytes, count: int) -> list[bytes]:
    out = []
    for _ in range(count):
        s = LinkSession(static=X25519PrivateKey.generate(), peer_static=b_static_public,
                        endpoints=[("127.0.0.1", 9)], pairing_id="sim-pair")
        s.start(0.0)
        out.append(s.datagrams_to_send(0.0)[0][0])
    return out


def flood(target, packets, sources: int, rate: float, seconds: float, sent: list[int]) -> None:
    socks = []
    for i in range(sources):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((f"127.0.1.{1 + i % 250}", 0))
        socks.append(s)
    start = time.monotonic()
    n = 0
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(elapsed * rate)
        while n < due:
            socks[n % len(socks)].sendto(packets[n % len(packets)], target)
            n += 1
        time.sleep(0.001)
    sent.append(n)
    for s in socks:
        s.close()


def relink_time(proc) -> float:
    t0 = time.monotonic()
    proc.send_signal(signal.SIGHUP)
    read_until(proc, "reloading")
    read_until(proc, "peer B is reachable", timeout=60)
    return time.monotonic() - t0


def status(config: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "terminal.cli", "status", "--json", "--config", str(config)],
                         capture_output=True, text=True, timeout=30, cwd=config.parent).stdout
    return json.loads(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rate", type=float, default=3000, help="stranger initiations per second (default 3000)")
    p.add_argument("--sources", type=int, default=200, help="source addresses they come from (default 200)")
    p.add_argument("--seconds", type=float, default=8.0, help="how long the flood lasts (default 8)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        a_sim, b_sim = provision_pair(Path(tmp))
        b_addr = b_sim.sock.getsockname()
        a_sim.sock.close()
        b_sim.sock.close()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        procs = {name: subprocess.Popen([sys.executable, "-m", "terminal.cli", "-v", "run", "--config",
                                         str(sim.config_path)], stderr=subprocess.PIPE, text=True, env=env,
                                        cwd=sim.config_path.parent)
                 for name, sim in (("B", b_sim), ("A", a_sim))}
        try:
            for proc in procs.values():
                read_until(proc, "on line")
            read_until(procs["A"], "peer B is reachable")
            baseline = relink_time(procs["A"])
            b_pid = procs["B"].pid
            packets = stranger_initiations(load_keys(Path(tmp) / "B" / "keys").identity.static_public, 200)
            idle0 = cpu_seconds(b_pid)
            time.sleep(args.seconds)                    # B's idle CPU over the same length of time
            idle = cpu_seconds(b_pid) - idle0
            sent: list[int] = []
            flooder = threading.Thread(target=flood, args=(b_addr, packets, args.sources, args.rate,
                                                            args.seconds, sent))
            cpu0 = cpu_seconds(b_pid)
            flooder.start()
            time.sleep(args.seconds / 2)                # the flood is well under way
            under_flood = relink_time(procs["A"])
            flooder.join()
            busy = cpu_seconds(b_pid) - cpu0
            drops = status(b_sim.config_path)["link"]
        finally:
            for proc in procs.values():
                proc.send_signal(signal.SIGTERM)
            for proc in procs.values():
                proc.wait(timeout=30)
    n = sent[0] if sent else 0
    print(f"settings: {args.rate:g} stranger initiations/s (valid mac1, unpinned keys) from {args.sources} "
          f"source addresses for {args.seconds:g} s at unit B; two daemons on loopback; 2-core machine, "
          f"the flooder shares it")
    print(f"measured: {n} packets sent; B's CPU {busy:.2f} s during the flood vs {idle:.2f} s idle over "
          f"the same time: {(busy - idle) / max(1, n) * 1e6:.1f} us per packet")
    print(f"measured: B dropped {json.dumps(drops['drops'])}, sent {drops['cookie_replies_sent']} cookie replies")
    print(f"measured: A reload to peer reachable: {baseline * 1000:.0f} ms without the flood, "
          f"{under_flood * 1000:.0f} ms during it (target: within 1 s)")


if __name__ == "__main__":
    main()
