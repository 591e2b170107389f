"""Sign-in for a dashboard served beyond this machine (docs/dashboard.md, "Sign-in").

Drill-through shows customers' tickets and answers, so a dashboard others can reach should
know who reads it. With an ``[auth]`` section in Streamlit's ``.streamlit/secrets.toml`` (an
OpenID Connect provider: Streamlit's ``st.login``), every visitor signs in before any page
runs. Without one, a dashboard listening on more than the loopback address says on every
page that anyone who reaches it can read it.
"""

from __future__ import annotations

import streamlit as st

from data_contracts.serving import reachable_from_elsewhere


def sign_in_configured() -> bool:
    """Whether Streamlit's secrets hold an ``[auth]`` section (st.login's settings)."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets file at all
        return False


def require() -> None:
    """Stop the page with a sign-in button until the visitor has signed in, when sign-in is
    configured; otherwise warn when the dashboard is reachable from other machines."""
    if not sign_in_configured():
        if reachable_from_elsewhere(st.get_option("server.address")):
            st.warning(
                "This dashboard is reachable from other machines and asks nobody to sign in: "
                "anyone who reaches it can read your customers' tickets. Configure sign-in "
                '(README, "Sign-in") or serve it on 127.0.0.1 behind a proxy that asks.',
                icon=":material/lock_open:",
            )
        return
    if not st.user.is_logged_in:
        st.title("Turnaround")
        st.write("Sign in to see your company's recovery numbers.")
        st.button("Sign in", icon=":material/login:", on_click=st.login, type="primary")
        st.stop()
    with st.sidebar:
        st.caption(f"Signed in as {st.user.get('email') or st.user.get('name') or 'you'}")
        st.button("Sign out", icon=":material/logout:", on_click=st.logout)
