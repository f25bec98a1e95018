"""Zeroize then enrol: the journal signed by the old keys is archived, whole, and the unit passes its
power-on journal check with the new keys. Real SQLite files; crashes simulated at each step."""

import fcntl
import json
import os
import re
import sqlite3

import pytest

from terminal.cli import main as hotline
from terminal.journal import Journal, load_sqlite, verify
from terminal.journal.store import lock_path
from terminal.keys import load_keys
from terminal.provisioning import rotation
from terminal.provisioning.rotation import archive_foreign_journal, archive_name
from terminal.provisioning.status import Command, Status
from terminal.selftest.integrity import check_journal
from tests.provisioning.harness import hotline_host
from tests.provisioning.test_handlers import NOW, enrolled, final, ok

WALL = 1_700_000_000.0      # 2023-11-14 22:13:20 UTC
ARCHIVE_TIME = "20231114T221320Z"


@pytest.fixture
def unit(unit):
    unit.wall_clock = lambda: WALL
    return unit


def journal_path(tmp_path):
    return tmp_path / "data" / "journal.sqlite"


def write_journal(path, keys, records=5):
    """`records` appended and the tail signed, as a daemon leaves its journal at shutdown."""
    with Journal(path, keys.journal_signer, unit="A", boot_id="boot-1") as journal:
        for i in range(records):
            journal.append("provisioning", change="test", detail=f"record {i}")
    return load_sqlite(path)


def data_files(tmp_path):
    """The data directory's journals (not the writers' lock file, which stays)."""
    return sorted(p.name for p in (tmp_path / "data").iterdir() if p.name != "journal.sqlite.lock")


def assert_whole_copy(path, old, identity):
    """`path` holds every record and checkpoint of `old`, names its keys, and verifies with them."""
    copy = load_sqlite(path)
    assert (copy.records, copy.checkpoints, copy.public_key, copy.mldsa_public) == (
        old.records, old.checkpoints, identity.signing_public, identity.mldsa_public)
    assert verify(copy.records, copy.checkpoints, identity.journal_public).ok


def rekeyed(unit, tmp_path):
    """Unit A enrolled, with a journal signed by those keys; then zeroized and the button pressed again."""
    enrolled(unit)
    old_keys = load_keys(tmp_path / "keys")
    old = write_journal(journal_path(tmp_path), old_keys)
    ok(unit, Command.ZEROIZE)
    unit.presence.press(NOW)
    return old_keys, old


def test_enrol_after_zeroize_archives_the_old_journal_and_the_unit_passes_its_check(unit, tmp_path, capsys):
    changes = []
    unit.on_change = lambda change, detail: changes.append((change, detail))
    old_keys, old = rekeyed(unit, tmp_path)
    old_public = old_keys.identity.signing_public
    result = ok(unit, Command.ENROL)
    name = f"journal-{old_public.hex()[:16]}-{ARCHIVE_TIME}.sqlite"
    assert (result["created"], result["archived_journal"]) == (True, name)
    assert data_files(tmp_path) == [name]
    assert_whole_copy(tmp_path / "data" / name, old, old_keys.identity)
    assert [c for c, _ in changes] == ["enrol", "zeroize", "enrol", "journal_archived"]
    assert name in changes[-1][1]

    # The auditor's tool, given the old unit's identity (both signing keys; a bare Ed25519 key is not enough).
    identity = tmp_path / "old-identity.json"
    identity.write_text(json.dumps(old_keys.identity.as_dict()))
    assert hotline(["journal", "verify", "--db", str(tmp_path / "data" / name), "--public-key", str(identity)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("intact: ") and "  5 records (records 1..5)" in out

    new_keys = load_keys(tmp_path / "keys")
    assert new_keys.identity.signing_public != old_public
    new = write_journal(journal_path(tmp_path), new_keys, records=2)
    assert [r.seq for r in new.records] == [1, 2]
    check = check_journal(journal_path(tmp_path), new_keys.identity.journal_public)
    assert check.passed, check.detail


def test_enrol_with_a_journal_of_its_own_keys_archives_nothing(unit, tmp_path):
    enrolled(unit)
    keys = load_keys(tmp_path / "keys")
    before = write_journal(journal_path(tmp_path), keys)
    with Journal(journal_path(tmp_path), keys.journal_signer) as running:    # the daemon, on line
        result = ok(unit, Command.ENROL, now=NOW + 3600)
        assert (result["created"], result["archived_journal"]) == (False, None)
        running.append("provisioning", change="test", detail="still writing")
    assert not [f for f in data_files(tmp_path) if f.startswith("journal-")]
    assert load_sqlite(journal_path(tmp_path)).records[:5] == before.records
    assert check_journal(journal_path(tmp_path), keys.identity.journal_public).passed


@pytest.mark.parametrize("records", [0, 3])
def test_a_journal_naming_no_key_is_left_for_the_journal_to_adopt(unit, tmp_path, records):
    """Written off the line without a usable key: the new key's first checkpoint is to sign it."""
    enrolled(unit)
    keys = load_keys(tmp_path / "keys")
    before = write_journal(journal_path(tmp_path), keys, records=records)
    with sqlite3.connect(journal_path(tmp_path)) as db:
        db.execute("DELETE FROM meta WHERE key = 'public_key'")
    db.close()
    assert ok(unit, Command.ENROL)["archived_journal"] is None
    assert not [f for f in data_files(tmp_path) if f.startswith("journal-")]
    assert load_sqlite(journal_path(tmp_path)).records == before.records


def test_an_old_journal_still_open_elsewhere_is_left_alone_until_enrol_runs_again(unit, tmp_path):
    enrolled(unit)
    old_keys = load_keys(tmp_path / "keys")
    stale = Journal(journal_path(tmp_path), old_keys.journal_signer)   # a daemon that never reloaded after zeroize
    stale.append("provisioning", change="test", detail="before zeroize")
    ok(unit, Command.ZEROIZE)
    unit.presence.press(NOW)
    response = final(unit, Command.ENROL)
    assert response.status == Status.INTERNAL
    assert "still open in another process" in response.result["error"]
    assert ok(unit, Command.HELLO)["state"] == "enrolled"       # the keys were made; only the archive waits
    assert not [f for f in data_files(tmp_path) if f.startswith("journal-")]
    stale.close()
    old = load_sqlite(journal_path(tmp_path))
    result = ok(unit, Command.ENROL, now=NOW + 3600)            # no button: the keys exist
    assert result["created"] is False
    assert_whole_copy(tmp_path / "data" / result["archived_journal"], old, old_keys.identity)
    assert not journal_path(tmp_path).exists()


def test_no_writer_can_open_the_journal_while_it_is_copied_and_removed(unit, tmp_path, monkeypatch):
    """The off-line daemon journalling a failed self-test while enrol copies the old journal
    would append to a file about to be removed: every Journal takes the writer lock first
    (shared, waiting), and rotation holds it exclusively throughout."""
    old_keys, old = rekeyed(unit, tmp_path)
    probes = []

    def probe(*args):
        fd = os.open(lock_path(journal_path(tmp_path)), os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):                 # a Journal opening now would wait
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            probes.append(args)
        finally:
            os.close(fd)

    for name in ("_copy", "remove_journal"):
        real = getattr(rotation, name)
        monkeypatch.setattr(rotation, name, lambda *args, real=real: (probe(*args), real(*args))[1])
    archived = ok(unit, Command.ENROL)["archived_journal"]
    assert len(probes) == 2
    assert load_sqlite(tmp_path / "data" / archived).records == old.records
    with Journal(journal_path(tmp_path), None) as journal:        # and afterwards the writer gets in at once
        journal.append("boot", version="off line")


def crash_once(monkeypatch, module, name, when):
    """Replace `module.name` with one that raises (a power cut) the first time `when(*args)` holds."""
    real = getattr(module, name)
    crashed = []

    def fake(*args, **kwargs):
        if not crashed and when(*args):
            crashed.append(args)
            raise OSError("simulated power cut")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, fake)
    return crashed


CRASH_POINTS = {
    # while renaming the finished copy into place: a .tmp left, the original whole
    "rename": (os, "replace", lambda src, dst: str(dst).endswith(".sqlite")),
    # after the archive is durable, before anything of the original is removed
    "before_removal": (rotation, "remove_journal", lambda journal: True),
    # side files gone, the original itself not yet
    "mid_removal": (os, "unlink", lambda path, *_: str(path).endswith("journal.sqlite")),
}


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_a_crash_anywhere_leaves_a_whole_copy_and_enrol_again_finishes(unit, tmp_path, monkeypatch, point):
    old_keys, old = rekeyed(unit, tmp_path)
    old_public = old_keys.identity.signing_public
    with monkeypatch.context() as patch:
        crashed = crash_once(patch, *CRASH_POINTS[point])
        response = final(unit, Command.ENROL)
    assert crashed and response.status == Status.INTERNAL, response.result

    whole = []
    for path in (tmp_path / "data").glob("journal*.sqlite"):
        data = load_sqlite(path)
        if data.records == old.records and data.checkpoints == old.checkpoints:
            whole.append(path.name)
    assert whole, data_files(tmp_path)

    unit.wall_clock = lambda: WALL + 60     # a minute later, without the button
    result = ok(unit, Command.ENROL, now=NOW + 3600)
    name = result["archived_journal"]
    assert result["created"] is False and re.fullmatch(rf"journal-{old_public.hex()[:16]}-2023\d+T\d+Z\.sqlite", name)
    if point != "rename":   # the archive written before the crash is the one kept, not a second copy
        assert name == archive_name(old_public.hex(), WALL)
    assert data_files(tmp_path) == [name]
    assert_whole_copy(tmp_path / "data" / name, old, old_keys.identity)
    assert ok(unit, Command.ENROL, now=NOW + 3600)["archived_journal"] is None
    assert check_journal(journal_path(tmp_path), load_keys(tmp_path / "keys").identity.journal_public).passed


def test_no_journal_archives_nothing(tmp_path):
    assert archive_foreign_journal(tmp_path, bytes(32), WALL) is None
    assert list(tmp_path.iterdir()) == []


def test_hotline_host_enrol_says_the_old_journal_was_archived(make_unit, capsys):
    unit = make_unit()
    unit.press()
    hotline_host(unit, "enrol")
    old_keys = load_keys(unit.key_dir)
    write_journal(unit.data_dir / "journal.sqlite", old_keys)
    unit.press()
    hotline_host(unit, "zeroize", "--yes")
    unit.press()
    capsys.readouterr()
    hotline_host(unit, "enrol")
    out = capsys.readouterr().out
    name = rf"journal-{old_keys.identity.signing_public.hex()[:16]}-\d{{8}}T\d{{6}}Z\.sqlite"
    assert re.search(rf"the journal signed by the old keys was archived on the unit as {name}\n", out), out


def test_an_archive_of_the_same_name_with_other_records_is_never_overwritten(unit, tmp_path):
    old_keys, old = rekeyed(unit, tmp_path)
    taken = tmp_path / "data" / archive_name(old_keys.identity.signing_public.hex(), WALL)
    other = write_journal(taken, old_keys, records=1)
    response = final(unit, Command.ENROL)
    assert response.status == Status.INTERNAL and "exists and holds other records" in response.result["error"]
    assert load_sqlite(taken).records == other.records
    assert load_sqlite(journal_path(tmp_path)).records == old.records
    unit.wall_clock = lambda: WALL + 1
    assert ok(unit, Command.ENROL, now=NOW + 3600)["archived_journal"] == archive_name(
        old_keys.identity.signing_public.hex(), WALL + 1)


def test_a_journal_naming_another_ml_dsa_key_is_foreign_too(tmp_path):
    """Same Ed25519 key, another ML-DSA-65 key: the Journal would refuse it, so enrol archives it."""
    from terminal.journal.signatures import SigningKeys
    from terminal.keys import new_keys
    keys = new_keys()
    (tmp_path / "data").mkdir()
    with Journal(journal_path(tmp_path), SigningKeys(keys.signing, SigningKeys.generate().mldsa)) as journal:
        journal.append("boot", version="1")
    name = archive_foreign_journal(tmp_path / "data", keys.identity.signing_public, WALL,
                                   mldsa_public=keys.identity.mldsa_public)
    assert name == archive_name(keys.identity.signing_public.hex(), WALL)
    assert not journal_path(tmp_path).exists()
    with Journal(journal_path(tmp_path), keys.journal_signer) as journal:      # and the unit starts afresh
        journal.append("boot", version="2")
    assert archive_foreign_journal(tmp_path / "data", keys.identity.signing_public, WALL + 1,
                                   mldsa_public=keys.identity.mldsa_public) is None
