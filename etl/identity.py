"""Customer identity: raw emails are never stored, only a keyed hash of the normalised email."""

from __future__ import annotations

import hashlib
import hmac


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_customer_id(email: str, hash_key: str) -> str:
    """The canonical customer id for a source that only knows the customer's email."""
    digest = hmac.new(hash_key.encode(), normalise_email(email).encode(), hashlib.sha256)
    return "email:" + digest.hexdigest()[:32]
