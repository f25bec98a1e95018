"""A full disk mid-call never leaves a silent hole in the journal: the unit lights its fault
LED, keeps what it could not write in memory, and once space returns journals a `gap`
record saying how many records of which kinds were lost and when; the verifier shows it.

The data directory is a real, small tmpfs filled with a real file, so this needs root
(mount); CI runs as root."""

import asyncio
import errno
import os
import subprocess

import pytest
from gpiozero.pins.mock import MockFactory

from terminal.call import actions as act
from terminal.journal import load_sqlite
from terminal.journal.audit import ExpectedKey, audit
from terminal.sim.call import bring_up, connect_call, replace
from terminal.sim.provision import provision_pair
from terminal.sim.run import SIM_TIMERS, file_handsets, load_unit

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root; CI runs this as root")


@pytest.fixture
def small_data_dir(tmp_path):
    data = tmp_path / "A" / "data"
    data.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0750", "tmpfs", str(data)], check=True)
    yield data
    subprocess.run(["umount", "-l", str(data)], check=True)


def fill(directory) -> os.PathLike:
    """Write a file until the filesystem says it is full. Unbuffered: a buffered file's
    close() would flush the bytes the failed write left behind and raise ENOSPC again
    (under qemu-user a short write leaves such bytes)."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    block = b"\0" * 65536
    try:
        while True:
            os.write(fd, block)
            os.fsync(fd)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


async def test_a_full_disk_mid_call_is_a_gap_record_and_a_lit_fault_led(tmp_path, small_data_dir):
    a_sim, b_sim = provision_pair(tmp_path, extra=SIM_TIMERS)
    a, b = (load_unit(s.config_path, pin_factory=MockFactory(),
                      handset_factory=file_handsets(tmp_path / s.name, [None])) for s in (a_sim, b_sim))
    faults: asyncio.Queue = asyncio.Queue()
    journal_fault = a._journal_fault

    def seen(reason):
        journal_fault(reason)
        faults.put_nowait(reason)
    a._journal_fault = seen
    await bring_up(a, b, (a_sim.sock, b_sim.sock))
    try:
        a.journal.retry_seconds = 0.2
        wa, wb = await connect_call(a, b)
        await a.journal.flush()
        filler = fill(small_data_dir)
        replace(a)                                   # A hangs up on a full disk
        await wa.wait_for(act.CallEnded, 5)
        reason = await asyncio.wait_for(faults.get(), 10)
        assert "full" in reason
        assert a.call.hardware.leds["fault"].is_lit
        assert a.journal.lost.kinds["call_ended"] == 1
        replace(b)
        os.unlink(filler)                            # space returns
        assert await asyncio.wait_for(faults.get(), 10) is None
        assert a.journal_fault is None
    finally:
        await a.close()
        await b.close()
    data = load_sqlite(small_data_dir / "journal.sqlite")
    gaps = [r for r in data.records if r.kind == "gap"]
    assert len(gaps) == 1 and "call_ended:1" in gaps[0].fields["kinds"] and gaps[0].fields["lost"] >= 1
    assert "full" in gaps[0].fields["reason"]
    identity = a.keys.identity
    result = audit(data, ExpectedKey.of_identity(identity, "A"))
    assert result.verdict.status == "intact"
    assert [g.lost for g in result.verdict.gaps] == [gaps[0].fields["lost"]]
    assert f"record {gaps[0].seq}: GAP of {gaps[0].fields['lost']} record(s)" in result.describe()
