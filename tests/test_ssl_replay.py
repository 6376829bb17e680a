"""The SSL client examples of the FCM360W manual replayed with the replay tool, the document's
server (220.180.239.212:8010/8011) routed to a TLS server on 127.0.0.1 that sends what the
dialogs say the server sends."""

from __future__ import annotations

import ssl

import pytest
from replaying import copies, overrides, replay, setup
from servers import TlsListener

from simulator.replay import ReplayOptions, override_for

SCALE = 20.0
DOC_DATA = b"Test data from SSL"
# What the document's server does in each dialog: answer once it has both sends (36 bytes), or
# send on its own after a moment (the transparent receive), or nothing.
SERVER = {
    "fcm360w-ssl-client-buffer-mode": ("answer", 36),
    "fcm360w-ssl-client-direct-mode": ("answer", 36),
    "fcm360w-ssl-client-transparent-send": ("quiet", 0),
    "fcm360w-ssl-client-transparent-recv-close": ("greet", 0),
}
GREET_AFTER = 0.3  # seconds of quiet before the server speaks first
# the dialogs send +++ straight after CONNECT (the manual names no guard time)
VARIANT = "extends: fcm360w\nssl_sockets:\n  escape_guard: 0s\n"


def document_server(context: ssl.SSLContext, role: tuple[str, int]) -> TlsListener:
    """A TLS server that plays the document's server (`SERVER`) on each client."""
    kind, expect = role

    def play(conn: ssl.SSLSocket) -> None:
        nonlocal kind
        if kind == "greet":
            conn.settimeout(GREET_AFTER)
            try:
                conn.recv(4096)
            except TimeoutError:
                conn.sendall(DOC_DATA)
            conn.settimeout(None)
        got = 0
        while data := conn.recv(4096):
            got += len(data)
            if kind == "answer" and got >= expect:
                conn.sendall(DOC_DATA)
                kind = "quiet"

    return TlsListener(context, play)


def scenarios() -> list[dict]:
    return copies("fcm360w.ssl")


def replayable() -> list[dict]:
    skips = overrides("fcm360w.ssl")
    return [s for s in scenarios() if not override_for(s["id"], skips).skip]


def test_the_skip_list_names_real_scenarios_and_keeps_most() -> None:
    ids = {s["id"] for s in scenarios()}
    assert set(overrides("fcm360w.ssl")) <= ids
    assert len(replayable()) == 3


@pytest.mark.parametrize("scenario", replayable(), ids=lambda s: s["id"])
def test_fcm360w_ssl_dialog(sim, pki, tmp_path, scenario) -> None:
    server = document_server(pki.server_context(), SERVER[scenario["id"]])
    profile = tmp_path / "fcm360w-ssl.yaml"
    profile.write_text(VARIANT)
    before = setup("fcm360w.ssl")
    override = override_for(scenario["id"], overrides("fcm360w.ssl"))
    steps = [step for block in before["scenarios"].get(scenario["id"], [])
             for step in before["blocks"][block]] + scenario["steps"]
    routes = [f"220.180.239.212:{p}=127.0.0.1:{server.port}" for p in (8010, 8011)]
    s = sim(str(profile), *[a for r in routes for a in ("--route", r)], time_scale=SCALE)

    options = ReplayOptions(profile="fcm360w", timeout=10.0, time_scale=SCALE / 2)
    try:
        failure = replay(s.path, steps, options, override)
    finally:
        server.close()
    assert failure is None, failure
