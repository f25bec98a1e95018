"""What a check reports, and what a whole run adds up to.

Each check returns a `CheckResult`: a stable `name`, `passed`, a `detail` in
words for the console and the journal, and `data` (numbers: round-trip time,
tone ratio, free bytes ...). A `Summary` holds a run's results and maps the
outcome to an exit code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

EXIT_PASSED = 0          # every check passed
EXIT_FAILED = 1          # at least one check failed: a fault was found
EXIT_CANNOT_RUN = 2      # the self-test itself could not run (config unreadable, daemon unreachable ...)


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    detail: str
    data: dict[str, float | int | str] = field(default_factory=dict)

    @property
    def interrupted(self) -> bool:
        """Cut short by the unit's own use (terminal/selftest/scheduled.py): not judged either way."""
        return bool(self.data.get("interrupted"))

    def as_dict(self) -> dict:
        return {"name": self.name, "passed": self.passed, "detail": self.detail, "data": dict(self.data)}

    def journal_fields(self) -> dict:
        """The fields of a journal `selftest` record."""
        return {"check": self.name, "passed": self.passed, "detail": self.detail}

    def provisioning_row(self) -> dict:
        """The shape `terminal.provisioning.selftest_hook` streams to the host tool."""
        return {"check": self.name, "ok": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class Summary:
    kind: str                           # "post" or "scheduled"
    results: tuple[CheckResult, ...]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.passed]

    @property
    def exit_code(self) -> int:
        return EXIT_PASSED if self.passed else EXIT_FAILED

    def by_name(self) -> dict[str, dict]:
        """One entry per check, as `hotline sim`'s JSON summary carries it."""
        return {r.name: {"passed": r.passed, "detail": r.detail, **({"data": dict(r.data)} if r.data else {})}
                for r in self.results}

    def as_dict(self) -> dict:
        return {"kind": self.kind, "passed": self.passed, "exit_code": self.exit_code,
                "failed": [r.name for r in self.failures], "checks": [r.as_dict() for r in self.results]}


def describe(summary: dict) -> str:
    """A summary's dict (`Summary.as_dict()`, here or from the daemon) as console lines."""
    lines = [f"{'ok  ' if c['passed'] else 'FAIL'} {c['name']}: {c['detail']}" for c in summary["checks"]]
    failed = summary["failed"]
    lines.append(f"{summary['kind']} self-test: " + (f"{len(failed)} check(s) FAILED: {', '.join(failed)}"
                                                      if failed else "all checks passed"))
    return "\n".join(lines)
