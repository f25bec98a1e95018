"""The unit's config file as the provisioning commands read and rewrite it.

Validation is `terminal.config.validate` with the daemon's whole schema
(`[call]` included; a unit not yet paired has no [peer] section, which it allows).
Rewrites are atomic (0600: the file may hold the pre-shared key); comments in
the file are not kept.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from types import SimpleNamespace

import tomli_w

from terminal.config import full_schema, validate
from terminal.errors import ConfigError
from terminal.keys import atomic_write


def read_config(path: Path) -> tuple[dict, SimpleNamespace]:
    """The raw TOML tables (to edit) and the validated namespaces (to use)."""
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    return raw, validate(raw, str(path), path.parent.resolve(), full_schema())


def write_config(path: Path, raw: dict) -> SimpleNamespace:
    """Validate `raw` as the daemon would, then replace the file atomically."""
    config = validate(raw, str(path), path.parent.resolve(), full_schema())
    atomic_write(path, tomli_w.dumps(raw).encode("utf-8"), mode=0o600)
    return config
