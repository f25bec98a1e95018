import argparse

import pytest

from terminal.netsim.cli import build_parser, impairment_from_args, main, parse_address, parse_window
from terminal.netsim.impairment import Impairment


def test_options_become_an_impairment_in_seconds_and_fractions():
    args = build_parser().parse_args(["--loss", "10", "--delay", "80", "--jitter", "20", "--duplicate", "1",
                                      "--reorder", "2", "--blackout", "5:1.5", "--burst-loss", "4"])
    imp = impairment_from_args(args)
    assert (imp.loss, imp.delay, imp.jitter, imp.duplicate, imp.reorder) == pytest.approx((0.1, 0.08, 0.02, 0.01, 0.02))
    assert imp.blackouts == ((5.0, 6.5),)
    assert imp.burst.mean_loss == pytest.approx(0.04)


def test_no_options_means_no_impairment():
    assert impairment_from_args(build_parser().parse_args([])) == Impairment()


@pytest.mark.parametrize("text,parsed", [("127.0.0.1:5000", ("127.0.0.1", 5000)), ("::1:9", ("::1", 9))])
def test_addresses(text, parsed):
    assert parse_address(text) == parsed


@pytest.mark.parametrize("text", ["5000", "host:", ":80", "h:99999", "h:x"])
def test_bad_addresses(text):
    with pytest.raises(argparse.ArgumentTypeError, match="HOST:PORT"):
        parse_address(text)


def test_bad_window():
    with pytest.raises(argparse.ArgumentTypeError, match="START:SECONDS"):
        parse_window("5")


def test_bad_setting_exits_2_with_the_reason(capsys):
    assert main(["--loss", "150", "--duration", "0"]) == 2
    assert "loss must be a probability" in capsys.readouterr().err


def test_short_run_prints_stats(capsys):
    assert main(["--duration", "0"]) == 0
    out = capsys.readouterr().out
    assert '"a_to_b"' in out and '"unroutable": 0' in out
