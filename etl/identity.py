"""Customer identity: raw emails are never stored, only a keyed hash of the normalised email."""

from __future__ import annotations

import hashlib
import hmac
import re


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_customer_id(email: str, hash_key: str) -> str:
    """The canonical customer id for a source that only knows the customer's email."""
    digest = hmac.new(hash_key.encode(), normalise_email(email).encode(), hashlib.sha256)
    return "email:" + digest.hexdigest()[:32]


EMAIL_PATTERN = re.compile(r"[^\s\"'<>(),;:@]+@[^\s\"'<>(),;:@]+\.[A-Za-z]{2,}")


def looks_like_email(value: str) -> bool:
    return EMAIL_PATTERN.fullmatch(value) is not None


def redact_emails(text: str) -> str:
    """``text`` with every email address replaced, for rejected rows kept in quarantine."""
    return EMAIL_PATTERN.sub("<email>", text)
