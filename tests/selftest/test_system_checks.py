"""Disk space and clock sanity."""

import shutil
from collections import namedtuple
from datetime import datetime, timezone

import pytest

from terminal.selftest.system import check_clock, check_disk

Usage = namedtuple("Usage", "total used free")


def test_free_disk_on_a_real_filesystem(tmp_path):
    result = check_disk(tmp_path, min_free=1)
    assert result.passed and result.data["free_bytes"] == shutil.disk_usage(tmp_path).free


def test_full_disk_is_named(tmp_path):
    result = check_disk(tmp_path, min_free=64 * 2 ** 20, usage=lambda p: Usage(2 ** 30, 2 ** 30 - 2 ** 20, 2 ** 20))
    assert not result.passed and result.detail.startswith("only 1 MiB free")


def test_missing_directory_is_named(tmp_path):
    result = check_disk(tmp_path / "gone")
    assert not result.passed and "cannot read free space" in result.detail


@pytest.mark.parametrize("when, passed, words", [
    (datetime(2026, 11, 23, tzinfo=timezone.utc), True, "2026-11-23 00:00:00 UTC"),
    (datetime(1970, 1, 1, 0, 5, tzinfo=timezone.utc), False, "never set"),
    (datetime(2107, 1, 1, tzinfo=timezone.utc), False, "implausibly far ahead"),
])
def test_clock_window(when, passed, words):
    result = check_clock(when.timestamp())
    assert result.passed is passed and words in result.detail
