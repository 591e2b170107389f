"""Entry script of the Turnaround dashboard: ``streamlit run dashboard/app.py``.

It declares the pages and runs the one the user picked; pages live in ``pages/`` and only
arrange widgets, calling ``dashboard.data`` for numbers.
"""

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="Turnaround", page_icon=":material/autorenew:", layout="wide")

page = st.navigation(
    [
        st.Page(
            PAGES / "executive.py",
            title="Executive overview",
            icon=":material/monitoring:",
            default=True,
        ),
    ]
)
page.run()
