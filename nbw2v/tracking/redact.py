"""Secrets never written anywhere: credentials in URIs are removed before anything is logged.

A tracking URI like ``http://alice:S3cret@host:5000`` carries a password. nbw2v moves such
credentials into ``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD`` (the variables
MLflow's HTTP client reads) for this process, and uses the URI without them everywhere else:
messages, params, config artifacts, Hydra's ``.hydra/*.yaml`` and the offline journal.
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote, urlsplit, urlunsplit

#: scheme://userinfo@ in any text (config dumps, overrides, error messages)
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/@\s'\"]+)@")

HINT = (
    "credentials belong in MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN), "
    "not in the tracking URI"
)


def split_credentials(uri: str) -> tuple[str, str | None, str | None]:
    """(URI without user info, user, password); user and password are None when absent."""
    if "://" not in uri or "@" not in uri.split("://", 1)[1].split("/", 1)[0]:
        return uri, None, None
    parts = urlsplit(uri)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    user = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return clean, user, password


def redact(text: str) -> str:
    """``text`` with the user info of every URI in it replaced by ``***``."""
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}***@", str(text))


def move_credentials_to_env(uri: str) -> tuple[str, bool]:
    """Strip credentials from ``uri`` and put them in MLflow's environment variables (for this
    process and the jobs it starts). Returns (clean URI, whether there were credentials)."""
    clean, user, password = split_credentials(uri)
    if user is None and password is None:
        return uri, False
    if password is None:  # https://TOKEN@host: a bearer token in the user field
        os.environ["MLFLOW_TRACKING_TOKEN"] = user or ""
    else:
        os.environ["MLFLOW_TRACKING_USERNAME"] = user or ""
        os.environ["MLFLOW_TRACKING_PASSWORD"] = password
    return clean, True


_OVERRIDE = re.compile(r"^(?P<prefix>[+~]{0,2}logger\.tracking_uri=)(?P<value>.*)$")


def clean_argv(argv: list[str]) -> tuple[list[str], bool]:
    """Command-line overrides with credentials moved out of ``logger.tracking_uri=...`` (before
    Hydra writes them to ``.hydra/`` and the sweep's ``multirun.yaml``); also cleans
    ``$MLFLOW_TRACKING_URI``. Returns (argv, whether anything was moved)."""
    moved = False
    out = []
    for arg in argv:
        match = _OVERRIDE.match(arg)
        if match and "@" in match.group("value"):
            value = match.group("value")
            quote = value[0] if value[:1] in "'\"" and value[-1:] == value[:1] else ""
            clean, did = move_credentials_to_env(value.strip(quote) if quote else value)
            moved |= did
            arg = f"{match.group('prefix')}{quote}{clean}{quote}"
        out.append(arg)
    env_uri = os.environ.get("MLFLOW_TRACKING_URI", "")
    if env_uri:
        clean, did = move_credentials_to_env(env_uri)
        if did:
            os.environ["MLFLOW_TRACKING_URI"] = clean
            moved = True
    return out, moved
