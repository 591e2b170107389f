"""Where the dashboard is served, and whether it asks visitors to sign in: read by the
dashboard (dashboard/sign_in.py) and by the command that serves it (docs/dashboard.md,
"Sign-in")."""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path


def secrets_have_sign_in(folder: Path) -> bool:
    """Whether a Streamlit secrets file the dashboard started in ``folder`` reads
    (``folder/.streamlit/secrets.toml``, then ``~/.streamlit/secrets.toml``) has ``[auth]``:
    the same answer as ``sign_in_configured`` gives inside the app, for the command that
    serves it."""
    for path in (folder / ".streamlit" / "secrets.toml", Path.home() / ".streamlit/secrets.toml"):
        try:
            if "auth" in tomllib.loads(path.read_text()):
                return True
        except (OSError, tomllib.TOMLDecodeError):
            continue
    return False


def reachable_from_elsewhere(address: str | None) -> bool:
    """Whether ``address`` (Streamlit's server.address) was set to one that other machines
    can reach. Unset (a bare ``streamlit run``, or a test harness) is not judged:
    ``turnaround dashboard`` always sets it, to 127.0.0.1 unless told otherwise."""
    if not address or address == "localhost":
        return False
    try:
        return not ipaddress.ip_address(address).is_loopback
    except ValueError:  # a host name other than localhost
        return True
