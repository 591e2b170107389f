"""The served-dashboard tests fail on any traceback the server prints, except Streamlit's
websocket disconnect race (see ``serving.without_disconnect_races``)."""

from __future__ import annotations

from tests.dashboard.serving import without_disconnect_races

SITE = "/srv/t/.venv/lib/python3.11/site-packages"

WS = f"{SITE}/streamlit/web/server/starlette/starlette_websocket.py"
CLOSED = 'Cannot call "send" once a close message has been sent.'

# The shape a CI run printed (2026-12-03), frames shortened to the ones that matter.
RACE = f"""Exception in ASGI application
Traceback (most recent call last):
  File "{WS}", line 516, in _websocket_endpoint
    data = await websocket.receive_bytes()
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "{SITE}/starlette/websockets.py", line 131, in receive_bytes
    raise WebSocketDisconnected('WebSocket is not connected. Need to call "accept" first.')
starlette.websockets.WebSocketDisconnected: WebSocket is not connected. Need to call "accept" first.

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "{SITE}/uvicorn/protocols/websockets/websockets_sansio_impl.py", line 409, in run_asgi
    result = await self.app(self.scope, self.receive, self.send)
  File "{WS}", line 524, in _websocket_endpoint
    await websocket.close()
  File "{SITE}/starlette/websockets.py", line 104, in send
    raise WebSocketDisconnected('Cannot call "send" once a close message has been sent.')
starlette.websockets.WebSocketDisconnected: {CLOSED}"""

BANNER = """Turnaround dashboard on http://localhost:49095 (Ctrl+C to stop)
  URL: http://127.0.0.1:49095
"""


def test_the_disconnect_race_is_set_aside_and_the_rest_kept():
    output = BANNER + RACE + "\nStopping...\n"
    left = without_disconnect_races(output)
    assert "Traceback" not in left
    assert "Turnaround dashboard on http://localhost:49095" in left and "Stopping..." in left


def test_a_traceback_through_turnaround_code_is_kept():
    ours = RACE.replace(
        f'  File "{SITE}/uvicorn/protocols/websockets/websockets_sansio_impl.py"',
        '  File "/srv/turnaround/turnaround/dashboard/app.py", line 12, in main\n'
        f'  File "{SITE}/uvicorn/protocols/websockets/websockets_sansio_impl.py"',
    )
    assert "Traceback" in without_disconnect_races(BANNER + ours)


def test_another_exception_in_the_same_place_is_kept():
    other = RACE.replace(
        'starlette.websockets.WebSocketDisconnected: Cannot call "send"',
        'duckdb.IOException: Cannot call "send"',
    )
    assert "duckdb.IOException" in without_disconnect_races(BANNER + other)


def test_a_race_followed_by_a_real_error_keeps_the_real_one():
    real = (
        "Traceback (most recent call last):\n"
        '  File "/srv/turnaround/turnaround/dashboard/pages/overview.py", line 40, in render\n'
        "ValueError: no such KPI"
    )
    left = without_disconnect_races(BANNER + RACE + "\n" + real)
    assert left.count("Traceback") == 1 and "ValueError: no such KPI" in left


def test_a_plain_traceback_is_kept():
    plain = (
        "Traceback (most recent call last):\n"
        f'  File "{SITE}/streamlit/runtime/scriptrunner/exec_code.py", line 129, in exec_func\n'
        "starlette.websockets.WebSocketDisconnected: not after an ASGI error line"
    )
    assert "Traceback" in without_disconnect_races(BANNER + plain)
