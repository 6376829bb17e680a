"""BC660K HTTP(S) beyond the document's flows, end to end over the PTY against local servers:
requests that leave PSM (OK, then EXIT PSM and +CSCON: 1, then the result, as the wake-up
rows show), a read of a body already in the module that does not, the error numbers a failed
request reports, and server authentication and SNI once the host asks for them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cellular import boot
from power import TAIL, Console, bring_up, ctl, profile, subsystems
from servers import Reply, WebServer, free_port

EXIT_PSM = '+QNBIOTEVENT: "EXIT PSM"'
ENTER_PSM = '+QNBIOTEVENT: "ENTER PSM"'
HOST = "ncu-receiver.fukuku.saico.dev"


@pytest.fixture
def web() -> Iterator[list[WebServer]]:
    servers: list[WebServer] = []
    yield servers
    for server in servers:
        server.close()


def start(sim, tmp_path: Path, *routes: str, **sections) -> tuple[Console, Path]:
    """A bc660k whose network keeps a connection an hour: PSM comes when the test asks."""
    control = tmp_path / "bc660k.ctl"
    network = {"inactivity": "1h", **sections.pop("network", {})}
    port = boot(sim, profile(tmp_path, "bc660k-http", network=network, **sections), TAIL,
                "--control", str(control), *[a for r in routes for a in ("--route", r)])
    return Console(port), control


def prompt(con: Console, line: str) -> None:
    """A command that opens the data prompt, which comes without a line end."""
    con.port.write(line.encode() + b"\r")
    assert con.port.read_until(lambda b: b.endswith(b"> ")) == b"\r\n> "


def set_url(con: Console, url: str) -> None:
    prompt(con, f"AT+QHTTPURL={len(url)},80")
    mark = len(con.lines)
    con.port.write(url.encode())
    con.wait("OK")
    assert con.lines[mark:] == ["OK"]


def into_psm(con: Console, control: Path) -> None:
    ctl(control, "psm enter")
    con.in_order("+CSCON:0", ENTER_PSM)
    assert subsystems(control)["psm"]["state"] == "psm"


def result_after_wake(con: Console, mark: int, prefix: str) -> list[str]:
    """Everything printed since `mark`, once `prefix`'s result line is in."""
    con.wait(re.compile(re.escape(prefix) + r": .*"))
    return con.lines[mark:]


def test_requests_leave_psm_before_their_result_and_a_buffered_read_does_not(
        sim, tmp_path, web) -> None:
    server = WebServer()
    web.append(server)
    server.replies["GET /meter"] = Reply(200, b"hello")
    server.replies["POST /meter"] = Reply(200, b"stored")
    server.replies["PUT /meter"] = Reply(201, b"")
    con, control = start(sim, tmp_path)
    bring_up(con)
    url = f"http://127.0.0.1:{server.port}/meter"
    set_url(con, url)
    into_psm(con, control)
    # GET from PSM: the OK, then the way out of PSM, then the result
    mark = len(con.lines)
    assert con.command("AT+QHTTPGET=80") == ["OK"]
    assert result_after_wake(con, mark, "+QHTTPGET") == [
        "OK", EXIT_PSM, "+CSCON:1", "+QHTTPGET: 0,200,5"]
    assert (server.request().method, subsystems(control)["psm"]["state"]) == ("GET", "connected")
    # the body is in the module: reading it in PSM needs no radio
    into_psm(con, control)
    con.port.write(b"AT+QHTTPREAD=100\r")
    assert con.port.read_until(lambda b: b.endswith(b"OK\r\n")) == \
        b"\r\n+QHTTPREAD: 5,0\r\nhello\r\n\r\nOK\r\n"
    assert con.quiet(0.3) == []
    assert subsystems(control)["psm"]["state"] == "psm"
    # POST and PUT from PSM: prompt and body locally, then out of PSM for the request
    for method, status, answer in (("POST", 200, 6), ("PUT", 201, 0)):
        if subsystems(control)["psm"]["state"] != "psm":
            into_psm(con, control)
        prompt(con, f"AT+QHTTP{method}=4")
        mark = len(con.lines)
        con.port.write(b"1234")
        assert result_after_wake(con, mark, f"+QHTTP{method}") == [
            "OK", EXIT_PSM, "+CSCON:1", f"+QHTTP{method}: 0,{status},{answer}"]
        seen = server.request()
        assert (seen.method, seen.body) == (method, b"1234")


def test_failed_requests_report_the_family_error_numbers(sim, tmp_path) -> None:
    closed = free_port()  # nothing listens there: the connection is refused
    con, _ = start(sim, tmp_path, f"{HOST}:443=127.0.0.1:{closed}",
                   internet={"resolver": "table"})  # names resolve from the profile only
    bring_up(con, psm=False)
    for url, code in ((f"https://{HOST}/push", 716),  # socket connect error
                      ("http://meter.invalid/push", 714)):  # DNS error
        set_url(con, url)
        assert con.command("AT+QHTTPGET=80") == ["OK"]
        assert con.lines[con.wait(re.compile(r"\+QHTTPGET: .*"))] == f"+QHTTPGET: {code}"
    assert con.command("AT+CMEE=1") == ["OK"]
    assert con.command("AT+QHTTPREAD=10") == ["+CME ERROR: 705"]  # no response to read


def test_https_checks_the_server_once_seclevel_asks(sim, tmp_path, pki, web) -> None:
    names: list[str | None] = []  # what each client hello named (SNI), None: nothing
    context = pki.server_context()
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    server = WebServer(context)
    web.append(server)
    server.replies["/push"] = Reply(200, b"ok")
    con, _ = start(sim, tmp_path, f"{HOST}:443=127.0.0.1:{server.port}")
    bring_up(con, psm=False)
    url = f"https://{HOST}/push"
    set_url(con, url)

    def get() -> str:
        assert con.command("AT+QHTTPGET=80") == ["OK"]
        return con.lines[con.wait(re.compile(r"\+QHTTPGET: .*"))]

    assert get() == "+QHTTPGET: 0,200,2"  # seclevel 0 by default: no CA, no check
    con.ok('AT+QSSLCFG=0,0,"seclevel",1', 'AT+QSSLCFG=0,0,"sni",1')
    for ca, result in ((pki.other_ca.cert_pem.bytes(), "+QHTTPGET: 701"),  # not its issuer
                       (pki.ca_pem.read_bytes(), "+QHTTPGET: 0,200,2")):
        prompt(con, 'AT+QSSLCFG=0,0,"cacert"')
        con.port.write(ca + b"\x1a")
        con.wait(f'+QSSLCFG: 0,0,"cacert",{len(ca)}')
        con.wait("OK")
        assert get() == result
    assert [server.request().path for _ in range(2)] == ["/push", "/push"]
    assert server.seen.empty()  # the handshake the module refused sent no request
    assert names == [None, HOST, HOST]  # "sni" is 0 until the host sets it
