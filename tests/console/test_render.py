"""The console's health line: every fault the daemon reports reaches the duty officer."""

from terminal.console.render import health_line


def test_a_message_store_fault_shows_as_a_fault():
    line, style = health_line({"state": "on line", "message_store_fault": "could not fsync text.sqlite-wal"})
    assert style == "bad" and "messages held, not on the card: restart the unit" in line


def test_a_healthy_unit_shows_ok():
    line, style = health_line({"state": "on line", "message_store_fault": None})
    assert style == "ok" and line.startswith("Unit: OK")
