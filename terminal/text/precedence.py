"""Message precedence, highest first, as on the Moscow-Washington teletype."""

from __future__ import annotations

from enum import IntEnum

from terminal.text.errors import TextRefused


class Precedence(IntEnum):
    FLASH = 0
    IMMEDIATE = 1
    PRIORITY = 2
    ROUTINE = 3

    @property
    def urgent(self) -> bool:
        """Urgent messages re-alert until a person acknowledges them."""
        return self <= Precedence.IMMEDIATE

    @classmethod
    def parse(cls, name: "str | Precedence") -> "Precedence":
        """`'flash'`, `'FLASH'` or a member -> member; anything else is refused."""
        if isinstance(name, cls):
            return name
        try:
            return cls[str(name).strip().upper()]
        except KeyError:
            choices = ", ".join(p.name.lower() for p in cls)
            raise TextRefused(f"unknown precedence {name!r}; expected one of {choices}") from None
