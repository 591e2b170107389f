"""A page's state in the URL under stable keys, so a shared link opens the same view.

Streamlit's own binding (``bind="query-params"``) writes a select box's *label*
(``?kpi=One-touch+resolution``): renaming a label would break every saved link, and it drops
a value it does not know without a word. The choices here write their *id* instead (the KPI's
name, the dimension's name, the sort column: ``?kpi=one_touch_rate&by=channel&sort=tta_minutes
&order=asc``), read a label as a fallback (links saved before), and say on the page when a
link's value is neither. Multi-selects of dimension values keep Streamlit's binding: their
values are the data's own ids; ``unknown_values`` reports what a link gave that the data
does not hold.

A page's keys leave the URL when another page opens (as Streamlit does for bound widgets),
so a link carries only the state of the page it shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st

from metrics.slices import not_in_data

PAGE_KEY = "_links_page"  # the page of this run (set by app.py)
OWNED_KEY = "_links_owned"  # page -> the URL keys its choices wrote


def start_page(page: str) -> None:
    """Call before ``page`` runs: the URL keys that other pages' choices wrote (and this
    page's do not) leave the URL."""
    st.session_state[PAGE_KEY] = page
    owned: dict[str, set[str]] = st.session_state.setdefault(OWNED_KEY, {})
    mine = owned.get(page, set())
    for other, keys in owned.items():
        if other != page:
            for key in keys - mine:
                st.query_params.pop(key, None)


def from_url(
    key: str,
    ids: Sequence[str],
    labels: Mapping[str, str],
    default: str | None,
    what: str,
) -> str | None:
    """The value the choice ``key`` starts from: the URL's, read as an id or else as a label
    (a link saved while labels were written), when the widget has no value yet in this
    session; else ``default``. A URL value that is neither is reported on the page (``what``
    names the choice: "KPI") and ``default`` used."""
    if key in st.session_state:  # the widget's own value rules from its second run on
        return default
    given = st.query_params.get(key)
    if given is None or given == "":
        return default
    if given in ids:
        return given
    by_label = {label.casefold(): value for value, label in labels.items()}
    if given.casefold() in by_label:
        return by_label[given.casefold()]
    choices = ", ".join(f"{value} ({labels.get(value, value)})" for value in ids)
    shown = labels.get(default, default) if default is not None else "none"
    st.warning(
        f"The link's {key}={given} is not a {what} here; {what}s are {choices}. Showing {shown}.",
        icon=":material/link_off:",
    )
    return default


def to_url(key: str, value: str | None, default: str | None, shared: bool = False) -> None:
    """Write choice ``key``'s id into the URL (removed while it is ``default``). A page's
    keys (``shared`` False) leave the URL when another page opens."""
    if value is None or value == default:
        st.query_params.pop(key, None)
    elif st.query_params.get(key) != value:
        st.query_params[key] = value
    if not shared:
        page = st.session_state.get(PAGE_KEY, "")
        st.session_state.setdefault(OWNED_KEY, {}).setdefault(page, set()).add(key)


def unknown_values(key: str, known: Sequence[str], dimension: str | None = None) -> str | None:
    """What a link gave for multi-select ``key`` that is not among ``known`` (Streamlit would
    drop it without a word), in words, or None. ``dimension``: the dimension whose values
    they are, for its wording ("fax is not a channel in this data; channels are ...")."""
    unknown = [value for value in st.query_params.get_all(key) if value not in known]
    if not unknown:
        return None
    if dimension is not None:
        return (
            "The link's filter "
            + "; ".join(not_in_data(dimension, value, list(known)) for value in unknown)
            + "."
        )
    return (
        f"The link's {key} "
        + ", ".join(repr(v) for v in unknown)
        + (f" is not one of {', '.join(known)}.")
    )
