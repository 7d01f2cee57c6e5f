"""Kept for imports of the session layer: the scrubber lives in :mod:`tuiagents.secrets`."""

from tuiagents.secrets import (  # noqa: F401 - re-exported
    KEY_PATTERNS,
    MIN_SECRET_LENGTH,
    REDACTED,
    SECRET_ENV_SUFFIXES,
    Scrubber,
    env_secrets,
    mask,
    scrub,
)
