"""AWS credentials from the usual variables or a profile, held in memory only.

Never logged, never written: ``Credentials.__repr__`` hides the secret parts, and
nothing in cachedb stores them (the cache and its database know only the URL).
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


def from_environment(environ: Mapping[str, str] | None = None) -> Credentials | None:
    """The variables' credentials, else ``AWS_PROFILE``'s (or ``default``) from the
    shared credentials file; None (anonymous requests) when there are none."""
    env = os.environ if environ is None else environ
    key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        return Credentials(key, secret, env.get("AWS_SESSION_TOKEN") or None)
    return _from_profile(env)


def region(environ: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    return env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None


def _from_profile(env: Mapping[str, str]) -> Credentials | None:
    path = env.get("AWS_SHARED_CREDENTIALS_FILE") or str(Path.home() / ".aws" / "credentials")
    profile = env.get("AWS_PROFILE") or "default"
    parser = configparser.RawConfigParser()
    try:
        parser.read(os.path.expanduser(path), encoding="utf-8")
    except (OSError, configparser.Error, UnicodeDecodeError):
        return None
    if not parser.has_section(profile):
        return None
    section = parser[profile]
    key = section.get("aws_access_key_id", "").strip()
    secret = section.get("aws_secret_access_key", "").strip()
    if not key or not secret:
        return None
    return Credentials(key, secret, section.get("aws_session_token", "").strip() or None)
