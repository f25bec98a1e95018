"""The kinds table: good records pass, each bad one gets its specific message."""

import pytest

from terminal.journal.errors import JournalFieldError
from terminal.journal.kinds import KINDS, check_record

ENDED = dict(duration_ms=1, who_hung_up="peer", frames_lost=0, frames_concealed=0, frames_fec_recovered=0, jitter_us=0)

GOOD = [
    ("ring_started", "c1", {"direction": "incoming"}),
    ("peer_ringing", "c1", {}),
    ("answered", "c1", {"time_to_answer_ms": 0, "answered_by": "local"}),
    ("missed", "c1", {"rang_for_ms": 120_000}),
    ("escalation", "c1", {"step": "secondary_alert"}),
    ("call_failed", "c1", {"reason": "unreachable", "tried_for_ms": 30000}),
    ("call_ended", "c1", ENDED),
    ("peer_call_outcome", "c1", {"outcome": "missed", "rang_for_ms": 5, "escalations": 2}),
    ("link_up", None, {}),
    ("link_down", None, {"reason": "keepalive timeout"}),
    ("presence", None, {"where": "far", "staffed": False, "motion_age_ms": 700000}),
    ("link_mode", None, {"mode": "hybrid-mlkem768"}),
    ("link_drops", None, {"dropped": 3, "reasons": "bad_mac:1,malformed:2", "from_us": 1, "to_us": 2}),
    ("message_queued", None, {"message_id": "m1", "precedence": "FLASH"}),
    ("message_sent", None, {"message_id": "m1"}),
    ("message_delivered", "c9", {"message_id": "m1"}),
    ("message_read", None, {"message_id": "m1"}),
    ("selftest", None, {"check": "ringer", "passed": False, "detail": "relay open"}),
    ("provisioning", None, {"change": "peer identity installed"}),
    ("boot", None, {}),
    ("shutdown", None, {"reason": "SIGTERM"}),
    ("clock_step", None, {"step_us": -3_000_000}),
    ("peer_checkpoint", None, {"seq": 7, "hash": "ab" * 32, "wall_us": 1, "signature": "cd" * 64,
                               "signer": "ef" * 32, "peer": "bravo"}),
    ("gap", None, {"lost": 3, "kinds": "ring_started:1,answered:2", "from_us": 1, "to_us": 2,
                   "reason": "disk full"}),
    ("recovered", None, {"count": 2, "source": "text.sqlite"}),
]

BAD = [
    ("rnig_started", "c1", {}, "unknown record kind 'rnig_started'; did you mean 'ring_started'?"),
    ("answered", None, {"time_to_answer_ms": 1}, "answered: a call id is required"),
    ("answered", "", {"time_to_answer_ms": 1}, "answered: call id must be a string of 1 to 128 characters, got ''"),
    ("answered", "c1", {}, "answered: missing field 'time_to_answer_ms'"),
    ("answered", "c1", {"time_to_answer_ms": -1}, "answered: field 'time_to_answer_ms' must be a whole number >= 0, got -1"),
    ("answered", "c1", {"time_to_answer_ms": 1.5}, "answered: field 'time_to_answer_ms' must be a whole number >= 0, got 1.5"),
    ("answered", "c1", {"time_to_answer_ms": True}, "answered: field 'time_to_answer_ms' must be a whole number >= 0, got True"),
    ("answered", "c1", {"time_to_answr_ms": 1}, "answered: missing field 'time_to_answer_ms'"),
    ("missed", "c1", {"rang_for_ms": 1, "rang_fr": 2}, "missed: unknown field 'rang_fr'; did you mean 'rang_for_ms'?"),
    ("ring_started", "c1", {"direction": "sideways"}, "ring_started: field 'direction' must be one of outgoing, incoming, got 'sideways'"),
    ("selftest", None, {"check": "x", "passed": 1, "detail": ""}, "selftest: field 'passed' must be true or false, got 1"),
    ("boot", None, {"colour": "red"}, "boot: unknown field 'colour' (known: version)"),
    ("peer_ringing", "c1", {"x": 1}, "peer_ringing: unknown field 'x' (known: none)"),
    ("clock_step", None, {"step_us": "3"}, "clock_step: field 'step_us' must be a whole number, got '3'"),
]


@pytest.mark.parametrize("kind, call_id, fields", GOOD)
def test_good_records_pass(kind, call_id, fields):
    check_record(kind, call_id, fields)


def test_every_kind_has_a_good_example():
    assert {kind for kind, _, _ in GOOD} == set(KINDS)


@pytest.mark.parametrize("kind, call_id, fields, message", BAD)
def test_bad_records_say_what_is_wrong(kind, call_id, fields, message):
    with pytest.raises(JournalFieldError) as e:
        check_record(kind, call_id, fields)
    assert str(e.value) == message
