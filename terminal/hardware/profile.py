"""Board profiles (hw/boards/*.toml): which BCM pin does what on this desk unit.

Validated with the same schema machinery as the unit's config: every error
collected, each naming file, `[section] key` and what was expected, unknown
keys with a "did you mean". Two functions on one pin are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from terminal.config import Field, _boolean, _number, _string, load
from terminal.errors import ConfigError

BOARDS_DIR = Path(__file__).resolve().parents[2] / "hw" / "boards"
FIRST_PIN, LAST_PIN = 2, 27          # BCM GPIOs on the 40-pin header; 0 and 1 belong to the HAT EEPROM

INPUTS = ("hook", "ringer_feedback", "provisioning_button", "presence")
OUTPUTS = ("ringer", "secondary_alert", "led_link", "led_message", "led_fault")


def _pin(raw, _base) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not FIRST_PIN <= raw <= LAST_PIN:
        raise ValueError(f"expected a BCM GPIO number from {FIRST_PIN} to {LAST_PIN}, got {raw!r}")
    return raw


def _input(pull_up: bool) -> dict[str, Field]:
    return {"pin": Field(_pin), "pull_up": Field(_boolean, pull_up)}


def _output() -> dict[str, Field]:
    return {"pin": Field(_pin), "active_high": Field(_boolean, True)}


SCHEMA: dict[str, dict[str, Field]] = {
    "board": {"name": Field(_string(hint=", the board's name"))},
    "hook": {**_input(True), "debounce": Field(_number(float, 0.0, 0.5), 0.03)},
    "ringer_feedback": _input(True),
    "provisioning_button": _input(True),
    "presence": _input(False),
    **{name: _output() for name in OUTPUTS},
    "audio": {"handset": Field(_string(r"\S+", ", an ALSA device name like plughw:CARD=handset,DEV=0"))},
}


@dataclass(frozen=True)
class InputPin:
    pin: int
    pull_up: bool        # True: the contact closes to ground (active low); False: active high


@dataclass(frozen=True)
class OutputPin:
    pin: int
    active_high: bool


@dataclass(frozen=True)
class BoardProfile:
    name: str
    source: str
    hook: InputPin
    hook_debounce: float
    ringer_feedback: InputPin
    provisioning_button: InputPin
    presence: InputPin
    ringer: OutputPin
    secondary_alert: OutputPin
    led_link: OutputPin
    led_message: OutputPin
    led_fault: OutputPin
    handset_device: str


def resolve(board: str | Path) -> Path:
    """A board name ('pi4') names hw/boards/pi4.toml; anything with a suffix or slash is a path."""
    path = Path(board)
    if path.suffix or len(path.parts) > 1:
        return path
    path = BOARDS_DIR / f"{board}.toml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in BOARDS_DIR.glob("*.toml")))
        raise ConfigError(f"unknown board {board!r}; known boards: {known}")
    return path


def load_profile(board: str | Path) -> BoardProfile:
    """Load and validate a board profile by name or path; raises ConfigError listing every problem."""
    path = resolve(board)
    ns = load(path, SCHEMA)
    users: dict[int, list[str]] = {}
    for name in INPUTS + OUTPUTS:
        users.setdefault(getattr(ns, name).pin, []).append(name)
    clashes = [f"{path}: pin {pin} is used by both " + " and ".join(f"[{n}]" for n in names)
               for pin, names in sorted(users.items()) if len(names) > 1]
    if clashes:
        raise ConfigError("\n".join(clashes))
    return BoardProfile(
        name=ns.board.name,
        source=str(path),
        hook_debounce=ns.hook.debounce,
        handset_device=ns.audio.handset,
        **{name: InputPin(getattr(ns, name).pin, getattr(ns, name).pull_up) for name in INPUTS},
        **{name: OutputPin(getattr(ns, name).pin, getattr(ns, name).active_high) for name in OUTPUTS},
    )
