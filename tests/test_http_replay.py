"""The FCM360W manual's HTTP examples (4.6) replayed with the replay tool, the document's host
(api.efxnow.com) routed to a local HTTP server that answers as the echo service did."""

from __future__ import annotations

import pytest
from replaying import copies, overrides, replay
from servers import Reply, WebServer

from simulator.replay import ReplayOptions, override_for

SCALE = 10.0
ECHO_PATH = "/DEMOWebServices2.8/Service.asmx/Echo"
ECHO_BODY = (b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
             b"<string xmlns=\"http://api.efxnow.com/webservices2.3\">Message='HelloQuectel' "
             b"ASCII:72\r\n101 108 108 111 81 117 101 99 116 101 108 </string>")


def scenarios() -> list[dict]:
    return copies("fcm360w.http")


def replayable() -> list[dict]:
    skips = overrides("fcm360w.http")
    return [s for s in scenarios() if not override_for(s["id"], skips).skip]


def test_the_skip_list_names_real_scenarios() -> None:
    assert len(ECHO_BODY) == 177  # the length the document's results report
    skipped = {s["id"] for s in scenarios()} - {s["id"] for s in replayable()}
    assert skipped == {"fcm360w-http-get-read"}


@pytest.mark.parametrize("scenario", replayable(), ids=lambda s: s["id"])
def test_fcm360w_http_dialog(sim, scenario) -> None:
    server = WebServer()
    server.replies[ECHO_PATH] = Reply(200, ECHO_BODY)
    override = override_for(scenario["id"], overrides("fcm360w.http"))
    s = sim("fcm360w", "--route", f"api.efxnow.com:80=127.0.0.1:{server.port}",
            time_scale=SCALE)
    options = ReplayOptions(profile="fcm360w", timeout=15.0, time_scale=SCALE / 2)
    try:
        failure = replay(s.path, scenario["steps"], options, override)
        seen = server.request()
    finally:
        server.close()
    assert failure is None, failure
    method = "PUT" if "put" in scenario["id"] else "POST"
    assert (seen.method, seen.path, seen.body) == (method, ECHO_PATH + "?",
                                                   b"Message=HelloQuectel")
