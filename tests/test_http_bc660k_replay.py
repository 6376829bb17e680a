"""The BC660K document's HTTP(S) flows (3.1.7.1 / 3.1.7.2) replayed with the replay tool over
the real PTY, the document's host routed to a local TLS server (a certificate for that name,
from the test CA) that answers as the gas-meter receiver did. The rows are verbatim copies
(tests/transcripts/bc660k.http.transcripts.yaml), joined into flows with the blocks each needs
before it (bc660k.http.setup.yaml, reusing bc660k.power.setup.yaml); the document's typos and
line wraps are corrected in bc660k.http.skip.yaml."""

from __future__ import annotations

import queue
from typing import Any

import pytest
from cellular import variant
from qi import ctl
from replaying import copies, overrides, replay, setup
from servers import Reply, Seen, WebServer

from simulator.replay import ReplayOptions, override_for

SCALE = 20.0
HOST = "ncu-receiver.fukuku.saico.dev"
PATH = "/gas-meter/push/****"  # the document's redaction, kept: the URL is 57 bytes with it
# the 146 bytes the host posts and the 139 bytes the receiver answers (no PDF line wraps)
MEASUREMENT = (b'{"DATETIME":"20240528T143744Z","IMEI":"868020030003890","NCU_FW_VER":100,'
               b'"GAS_METER":1265035,"CSQ":29,"MCU_TEMP":28,"BAT_VOL":3665,"METER_TYPE":7}')
RECEIPT = (b'{"module":{"code":"700.101.1001","name":"GAS_METER_RECEIVER.PUSH_MEASUREMENT",'
           b'"version":"1.1.3"},"data":{"messageId":"194083404774019072"}}')
# the GET answer's 99 bytes are never read in the document; any body of that length does
STATUS = (b'{"module":{"code":"700.101.1000","name":"GAS_METER_RECEIVER","version":"1.1.3"},'
          b'"data":{"state":1}}')
# what the server gets from each flow
REQUESTS = {"bc660k-http-poweroff-H3": ["GET", "POST"], "bc660k-http-psm-H3": ["GET", "POST"],
            "bc660k-http-psm-H6-1-1": ["POST"]}


def rows() -> dict[str, list[Any]]:
    return {entry["id"]: entry["steps"] for entry in copies("bc660k.http")}


def flow_plan() -> dict[str, Any]:
    own = setup("bc660k.http")
    own["blocks"] = {**setup("bc660k.power")["blocks"], **own["blocks"]}
    return own


def flow_steps(flow: str) -> list[Any]:
    """The blocks a flow needs, then its rows, with each prose step the setup expands
    replaced by the rows and blocks it stands for."""
    plan, copied = flow_plan(), rows()

    def steps_of(name: str) -> list[Any]:
        return copied[name] if name in copied else plan["blocks"][name]

    expand = plan.get("expand", {}).get(flow, {})
    steps = [step for name in plan["scenarios"].get(flow, []) for step in steps_of(name)]
    for row in plan["flows"][flow]:
        for step in copied[row]:
            text = step.get("wait")
            steps += [s for name in expand[text] for s in steps_of(name)] if text in expand \
                else [step]
    return steps


def https_server(pki) -> tuple[WebServer, list[str]]:
    """The receiver: TLS only, GET and POST answered on the document's path; the names the
    clients asked for in their hello (SNI) are collected."""
    names: list[str] = []
    context = pki.server_context()
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    server = WebServer(context)
    server.replies[f"GET {PATH}"] = Reply(200, STATUS)
    server.replies[f"POST {PATH}"] = Reply(200, RECEIPT)
    return server, names


def received(server: WebServer) -> list[Seen]:
    seen = []
    while True:
        try:
            seen.append(server.seen.get_nowait())
        except queue.Empty:
            return seen


def test_the_files_fit_together() -> None:
    assert (len(STATUS), len(MEASUREMENT), len(RECEIPT)) == (99, 146, 139)
    assert len(f"https://{HOST}{PATH}") == 57
    plan, copied = flow_plan(), rows()
    assert sorted(row for flow in plan["flows"].values() for row in flow) == sorted(copied)
    assert set(plan["scenarios"]) == set(plan["flows"]) == set(REQUESTS)
    for flow, prose in plan["expand"].items():
        waits = [step.get("wait") for row in plan["flows"][flow] for step in copied[row]]
        assert set(prose) <= set(waits), flow  # each expanded step is one the rows print
    send = override_for("bc660k-http-poweroff-H3-3", overrides("bc660k.http")).send
    body = next(text for text in send if text.startswith("{"))
    assert send[body].encode() == MEASUREMENT and len(body) == 147


@pytest.mark.parametrize("flow", sorted(REQUESTS))
def test_bc660k_https_flow(sim, pki, tmp_path, flow: str) -> None:
    server, names = https_server(pki)
    override = override_for(flow, overrides("bc660k.http"))  # a flow is named as its rows
    # the network keeps a connection an hour (PSM comes when a flow asks for it), and the
    # UART idle window is 40 s (2 s here): the replay's silence checks never outlast it
    profile = variant(tmp_path, "bc660k", "bc660k-http", sleep={"idle_window": "40s"},
                      network={"inactivity": "1h"})
    s = sim(profile, "--route", f"{HOST}:443=127.0.0.1:{server.port}", time_scale=SCALE)

    def remote(text: str) -> str | None:
        if text == "the network releases the connection":
            ctl(s.path, "psm enter")
            return None
        return f"no peer plays {text!r}"

    options = ReplayOptions(profile="bc660k", timeout=15.0, time_scale=SCALE)
    try:
        failure = replay(s.path, flow_steps(flow), options, override, remote=remote)
        seen = received(server)
    finally:
        server.close()
    assert failure is None, failure
    assert [(r.method, r.path) for r in seen] == [(m, PATH) for m in REQUESTS[flow]]
    assert all(r.headers["Host"] == HOST for r in seen)
    assert names == [HOST] * len(seen)  # a real TLS handshake per request, SNI on ("sni",1)
    post = seen[-1]
    assert (post.body, post.headers["Content-Type"]) == (MEASUREMENT, "text/plain")
