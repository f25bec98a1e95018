"""Daemon-level durability: SIGKILL the sender right after `msg send` returns and
the receiver right after it stores the message; restart both; the message is
shown exactly once and both receipts arrive."""

import asyncio
import signal
import subprocess
import sys
import time

from terminal.control.client import ControlClient
from terminal.control.protocol import ControlError
from terminal.sim.provision import provision_pair


def start(config):
    return subprocess.Popen([sys.executable, "-m", "terminal.cli", "run", "--config", str(config)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def call(sock, method, **params):
    client = ControlClient(sock)
    try:
        return await client.call(method, **params)
    finally:
        await client.close()


async def until(predicate, timeout=30.0):
    """Ask a daemon in another process until `predicate` holds. It offers no push
    notifications, so this polls its control socket, bounded by `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = await predicate()
            if value:
                return value
        except (OSError, ConnectionError, ControlError):
            pass                                  # the daemon is (re)starting
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


def start_pair(tmp_path):
    """Two provisioned units' daemons, B first; (configs, control sockets, processes) for A and B."""
    a_sim, b_sim = provision_pair(tmp_path)
    a_sim.sock.close()
    b_sim.sock.close()
    socks = tmp_path / "A" / "control.sock", tmp_path / "B" / "control.sock"
    b = start(b_sim.config_path)
    a = start(a_sim.config_path)
    return (a_sim.config_path, b_sim.config_path), socks, (a, b)


def kill(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


async def test_sigkilled_daemons_lose_nothing_and_deliver_once(tmp_path):
    (config_a, config_b), (sock_a, sock_b), (a, b) = start_pair(tmp_path)
    try:
        await until(lambda: call(sock_a, "link.status"), 20)
        sent = await call(sock_a, "msg.send", text="survive this", precedence="flash")
        kill(a)                                   # right after send returned
        a = start(config_a)

        async def stored_at_b():
            return [m for m in (await call(sock_b, "msg.list"))["messages"] if m["id"] == sent["id"]]
        await until(stored_at_b)
        kill(b)                                   # right after it stored the message
        b = start(config_b)

        shown = await until(stored_at_b)
        assert len(shown) == 1 and shown[0]["text"] == "survive this"
        await call(sock_b, "msg.ack", id=sent["id"])

        async def read_at_a():
            mine = [m for m in (await call(sock_a, "msg.list"))["messages"] if m["id"] == sent["id"]]
            return mine and mine[0]["state"] == "read" and mine
        mine = await until(read_at_a)
        assert len(mine) == 1
        assert len([m for m in (await call(sock_b, "msg.list"))["messages"] if m["id"] == sent["id"]]) == 1
    finally:
        for proc in (a, b):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=20)


async def test_a_send_retried_with_its_key_after_the_daemon_died_is_delivered_once(tmp_path):
    """The client sent, the daemon died before the client saw the answer; the client retries
    with the same key once the daemon is back: one message reaches the far desk, not two."""
    (config_a, config_b), (sock_a, sock_b), (a, b) = start_pair(tmp_path)
    try:
        await until(lambda: call(sock_a, "link.status"), 20)
        first = await call(sock_a, "msg.send", text="exactly once", precedence="flash", key="client-7f3a")
        kill(a)                                   # the answer never reached the client, say
        a = start(config_a)
        retried = await until(lambda: call(sock_a, "msg.send", text="exactly once", precedence="flash",
                                           key="client-7f3a"))
        assert retried == first
        after = await call(sock_a, "msg.send", text="the next one", precedence="routine")

        async def both_at_b():
            texts = [m["text"] for m in (await call(sock_b, "msg.list"))["messages"]]
            return "the next one" in texts and texts
        texts = await until(both_at_b)            # the stream is in order: a copy would come first
        assert sorted(texts) == ["exactly once", "the next one"] and after != first
    finally:
        for proc in (a, b):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=20)
