"""``forget`` in the raw pages a pull keeps for replay (``[pull] folder/SOURCE/RUN_ID``): each
page that holds the person's records is rewritten without them (the rest of the page as it
was, re-serialised), so a replay of the folder loads everyone but the person.

The person's records, by source:
- Zendesk: users with the person's customer id, email hash or user id; tickets they requested
  (and tickets the warehouse had for them); the metric sets and satisfaction ratings of
  those tickets, and ratings they gave. Groups name nobody and stay.
- Delighted: responses with the person's customer id (as the reader makes it), email hash
  or person id, and responses the warehouse had for them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from etl.identity import customer_key, email_customer_id
from etl.sources.delighted import CUSTOMER_ID_PROPERTY
from etl.sources.delighted import pull as delighted
from etl.sources.pull import raw
from etl.sources.zendesk import pull as zendesk
from etl.sources.zendesk.transforms import to_id


@dataclass(frozen=True)
class Person:
    """Everything one person is known by: their customer ids, and the source records the
    warehouse had for them (found before it erased them)."""

    customer_ids: frozenset[str]
    user_ids: frozenset[str] = frozenset()  # Zendesk users
    ticket_ids: frozenset[str] = frozenset()  # Zendesk tickets
    response_ids: frozenset[str] = frozenset()  # Delighted responses
    hash_key: str | None = field(default=None, repr=False)  # to hash the emails pages hold

    def has_email(self, email: Any) -> bool:
        if not isinstance(email, str) or not email.strip() or self.hash_key is None:
            return False
        try:
            return email_customer_id(email, self.hash_key) in self.customer_ids
        except UnicodeEncodeError:  # a lone surrogate: the readers key nobody by this email
            return False

    def has_id(self, value: Any) -> bool:
        """Whether an id a source gives (an external id, a customer_id property) is theirs."""
        if value is None or isinstance(value, dict | list | bool) or not str(value).strip():
            return False
        given = str(value).strip()
        try:
            keyed = customer_key(given, self.hash_key) if self.hash_key else given
        except UnicodeEncodeError:  # an email-shaped id with a lone surrogate has no hash
            keyed = given
        return given in self.customer_ids or keyed in self.customer_ids


@dataclass
class PagesErased:
    """What ``forget`` did to the kept pages."""

    rewritten: list[Path] = field(default_factory=list)
    records: int = 0  # the person's records taken out of them
    unreadable: list[Path] = field(default_factory=list)  # not JSON: left as they were


def erase_in_pages(root: Path, person: Person) -> PagesErased:
    """Take ``person``'s records out of every page kept under ``root``. The pages are read
    twice, one at a time: first for the person's Zendesk users (a ticket's requester may
    come in a later page), then to rewrite them."""
    done = PagesErased()
    user_ids = set(person.user_ids)
    for _, doc in _pages(root, zendesk.SOURCE):
        user_ids.update(_id(u.get("id")) for u in _listed(doc, "users") if _is_user(u, person))
    user_ids.discard(None)
    ticket_ids = set(person.ticket_ids)
    for path, doc in _pages(root, zendesk.SOURCE, done):
        # a page's metric sets are its own tickets' (side-loaded with them)
        ticket_ids.update(
            _id(t.get("id"))
            for t in _listed(doc, "tickets")
            if _id(t.get("requester_id")) in user_ids
        )
        kept, removed = doc, 0
        for key in zendesk.RECORD_KEYS:
            records = _listed(doc, key)
            left = [r for r in records if not _is_theirs(key, r, user_ids, ticket_ids)]
            if len(left) < len(records):
                kept, removed = {**kept, key: left}, removed + len(records) - len(left)
        _rewrite(path, kept, removed, done)
    for path, doc in _pages(root, delighted.SOURCE, done):
        responses = doc if isinstance(doc, list) else []
        left = [r for r in responses if not _is_respondent(r, person)]
        _rewrite(path, left, len(responses) - len(left), done)
    return done


def _pages(root: Path, source: str, done: PagesErased | None = None) -> Iterator[tuple[Path, Any]]:
    """Each kept page of ``source``, parsed; one that is not JSON (a page a pull is writing
    right now) is left as it is, and counted in ``done``."""
    for folder in raw.run_folders(root, source):
        for path in sorted(folder.glob("*.json")):
            try:
                yield path, json.loads(path.read_bytes())
            except (ValueError, OSError):
                if done is not None:
                    done.unreadable.append(path)


def _is_theirs(key: str, record: dict, user_ids: set, ticket_ids: set) -> bool:
    """Whether a record of a Zendesk page's ``key`` list is one of the person's."""
    if key == "users":
        return _id(record.get("id")) in user_ids
    if key == "tickets":
        return _id(record.get("id")) in ticket_ids
    if key == "metric_sets":
        return _id(record.get("ticket_id")) in ticket_ids
    if key == "satisfaction_ratings":
        return (
            _id(record.get("ticket_id")) in ticket_ids
            or _id(record.get("requester_id")) in user_ids
        )
    return False  # groups name nobody


def _listed(doc: Any, key: str) -> list[dict]:
    found = doc.get(key) if isinstance(doc, dict) else None
    return [r for r in found if isinstance(r, dict)] if isinstance(found, list) else []


def _id(value: Any) -> str | None:
    try:
        return to_id(value)
    except ValueError:
        return None


def _is_user(user: dict, person: Person) -> bool:
    return (
        _id(user.get("id")) in person.user_ids
        or person.has_id(user.get("external_id"))
        or person.has_email(user.get("email"))
    )


def _is_respondent(response: Any, person: Person) -> bool:
    if not isinstance(response, dict):
        return False
    if str(response.get("id")) in person.response_ids:
        return True
    properties = response.get("person_properties")
    if isinstance(properties, dict) and person.has_id(properties.get(CUSTOMER_ID_PROPERTY)):
        return True
    expanded = response.get("person")
    if isinstance(expanded, dict):
        return person.has_email(expanded.get("email")) or person.has_id(expanded.get("id"))
    return person.has_id(expanded)


def _rewrite(path: Path, doc: Any, removed: int, done: PagesErased) -> None:
    """``path`` holding ``doc`` instead, swapped in whole (mode 0600, as pages are kept)."""
    if not removed:
        return
    # The run folder keeps its time: the pull's pruning counts the folder's age from it.
    folder_times = path.parent.stat()
    temporary = path.with_name(f".{path.name}.forget")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            # ASCII with escapes: a lone surrogate a page holds (legal JSON, no UTF-8 for
            # it) is written back as the escape it was read from.
            file.write(json.dumps(doc).encode("ascii"))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.utime(path.parent, ns=(folder_times.st_atime_ns, folder_times.st_mtime_ns))
    done.rewritten.append(path)
    done.records += removed
