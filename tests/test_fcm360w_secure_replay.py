"""The FCM360W manual's examples that upload certificates and speak TLS, replayed with the
replay tool: 4.4.1 (SSL context with a CA file), 4.5.2 (MQTT over SSL) and 4.6 (HTTPS GET,
POST and PUT). The certificates the document elides are PEMs of the test's own CA, padded to
the byte counts the document writes; its hosts are routed to servers on 127.0.0.1 that verify
the module the way the dialogs configure it (TLS 1.0, two-way authentication)."""

from __future__ import annotations

import fnmatch
import re
import ssl
from collections.abc import Callable

import pytest
import serial
from modem import Sim
from replaying import copies, overrides, replay
from servers import Pki, Reply, WebServer, padded

from simulator.replay import ReplayOptions, override_for

SCALE = 1.0  # AT+QFWRITE waits 5 s for the data: no shorter, on a loaded machine
# "host writes exactly 1757 bytes of ca.pem content ..." / "... of the CA certificate ..."
UPLOAD = re.compile(r"host writes exactly (\d+) bytes of (?:the )?(\S+)")

# The order page of 4.6 as the document prints it; 285 bytes (as +QHTTPPOST/PUT report) when
# its lines end in CR LF, but for the last, which ends in a bare LF.
ORDER_PAGE = "\r\n".join([
    "<html>", "<head>", "<title>Quectel's Auto Parts - Order Results</title>", "</head>",
    "<body>", "<h1>Quectel's Auto Parts</h1>", "<h2>Order Results</h2>",
    "Order processed at 02:49, 27th December", "Your order is as follows: ",
    "message<br/>br />2222 apple<br/>br />3333 orange<br/>br /></body>", "</html>",
]).encode() + b"\n"
ORDER_BODY = b"Message=1111&Appleqty=2222&Orangeqty=3333&find=1"
# 4.6's HTTPS GET: the headers the document prints, one it elides ('......'), and a page of
# the 21451 bytes its Content-Length says
ALIPAY_PAGE = b"<body>" + b"alipay " * 3062 + b"page</body>"
ALIPAY_HEADERS = [("Server", "Tengine/2.1.0"), ("Date", "Tue, 12 Sep 2017 05:54:34 GMT"),
                  ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "21451"),
                  ("Connection", "keep-alive"), ("Vary", "Accept-Encoding")]


def scenario(scenario_id: str) -> dict:
    (found,) = [s for s in copies("fcm360w.secure") if s["id"] == scenario_id]
    return found


def uploads(pki: Pki) -> dict[str, bytes]:
    """The PEM each upload step names: the CA, the client certificate, its key."""
    return {"ca.pem": pki.ca_pem.read_bytes(), "CA": pki.ca_pem.read_bytes(),
            "user.pem": pki.client_pem.read_bytes(),
            "user_key.pem": pki.client_key.read_bytes()}


def generated(steps: list[dict], pems: dict[str, bytes]) -> dict[str, str]:
    """`send` entries for the elided uploads: each wait step becomes the PEM it describes,
    padded to the byte count the document gives."""
    sends = {}
    for step in steps:
        found = UPLOAD.match(step.get("wait", ""))
        if found:
            sends[step["wait"]] = padded(pems[found[2]], int(found[1])).decode()
    return sends


def replay_on(s: Sim, scenario_id: str, pems: dict[str, bytes], timeout: float = 15.0,
              log: Callable[[str], None] = lambda message: None) -> str | None:
    """Replays a scenario on simulator `s`: None, or the first difference."""
    steps = scenario(scenario_id)["steps"]
    override = override_for(scenario_id, overrides("fcm360w.secure"))
    options = ReplayOptions(profile="fcm360w", timeout=timeout, time_scale=SCALE / 2)
    return replay(s.path, steps, options, override, send=generated(steps, pems), log=log)


def legacy_server_context(pki: Pki, client_auth: bool) -> ssl.SSLContext:
    """The document's servers speak TLS 1.0 (the contexts ask for sslversion 1)."""
    ctx = pki.server_context(client_auth=client_auth)
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


def test_every_upload_step_gets_a_padded_pem_that_still_loads(pki, tmp_path) -> None:
    steps = [step for s in copies("fcm360w.secure") for step in s["steps"]]
    waits = [step["wait"] for step in steps if "wait" in step and "bytes of" in step["wait"]]
    sends = generated(steps, uploads(pki))
    assert set(sends) == set(waits) and len(waits) == 10
    assert {len(v) for v in sends.values()} == {1757, 1639, 1684, 2455}
    ca = tmp_path / "ca.pem"
    ca.write_text(sends[waits[0]])
    cert, key = tmp_path / "user.pem", tmp_path / "user_key.pem"
    cert.write_bytes(padded(pki.client_pem.read_bytes(), 1684))
    key.write_bytes(padded(pki.client_key.read_bytes(), 2455))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile=str(ca))
    ctx.load_cert_chain(str(cert), str(key))
    assert ctx.cert_store_stats()["x509_ca"] == 1
    assert len(ORDER_PAGE) == 285 and len(ALIPAY_PAGE) == 21451  # as the document reports


def test_the_skip_list_names_real_scenarios_and_skips_none() -> None:
    ids = {s["id"] for s in copies("fcm360w.secure")}
    skips = overrides("fcm360w.secure")
    assert all(fnmatch.filter(ids, pattern) for pattern in skips)
    assert not any(override_for(i, skips).skip for i in ids)


def test_ssl_context_config_uploads_the_ca_and_names_it(sim, pki, tmp_path) -> None:
    s = sim("fcm360w", time_scale=SCALE)
    failure = replay_on(s, "fcm360w-ssl-context-config", uploads(pki))
    with serial.Serial(s.path, timeout=0) as port:
        assert failure is None, failure
        port.timeout = 10
        port.write(b'AT+QSSLCFG="cacert",1\r')
        assert port.read_until(b"OK\r\n") == b'\r\n+QSSLCFG: "cacert",1,"ca.pem"\r\n\r\nOK\r\n'
    stored = tmp_path / "data" / "files" / "ca.pem"
    assert stored.read_bytes() == padded(pki.ca_pem.read_bytes(), 1757)


def test_mqtt_with_ssl_over_a_tls_listener(sim, own_broker, pki) -> None:
    broker = own_broker()
    s = sim("fcm360w", "--route", f"112.31.84.164:8307=127.0.0.1:{broker.tls}",
            time_scale=SCALE)
    failure = replay_on(s, "fcm360w-mqtt-with-ssl", uploads(pki))
    assert failure is None, failure
    assert f"on port {broker.tls}" in broker.log()  # the module came in over TLS


@pytest.mark.parametrize("method", ["post", "put"])
def test_https_upload_read_with_two_way_authentication(sim, pki, method: str) -> None:
    server = WebServer(tls=legacy_server_context(pki, client_auth=True))
    server.replies["/processorder.php"] = Reply(200, ORDER_PAGE)
    s = sim("fcm360w", "--route", f"220.180.239.212:8011=127.0.0.1:{server.port}",
            time_scale=SCALE)
    try:
        failure = replay_on(s, f"fcm360w-https-{method}-read", uploads(pki))
        seen = server.request()
    finally:
        server.close()
    assert failure is None, failure
    assert (seen.method, seen.path, seen.body) == (method.upper(), "/processorder.php",
                                                   ORDER_BODY)


def test_https_get_read_with_headers(sim, pki) -> None:
    server = WebServer(tls=legacy_server_context(pki, client_auth=False))
    server.replies["/"] = Reply(200, ALIPAY_PAGE, ALIPAY_HEADERS)
    s = sim("fcm360w", "--route", f"www.alipay.com:443=127.0.0.1:{server.port}",
            time_scale=SCALE)
    try:
        failure = replay_on(s, "fcm360w-https-get-read", uploads(pki))
        seen = server.request()
    finally:
        server.close()
    assert failure is None, failure
    assert (seen.method, seen.path) == ("GET", "/")


@pytest.mark.parametrize("swapped", ["ca.pem", "user.pem"])
def test_https_post_fails_with_certificates_of_another_ca(sim, pki, swapped: str) -> None:
    """The verification is real both ways: a CA that did not sign the server's certificate,
    or a client certificate the server does not trust, and the POST gets a TLS error."""
    pems = uploads(pki)
    pems[swapped] = (pki.other_ca.cert_pem.bytes() if swapped == "ca.pem"
                     else pki.stranger_pem.read_bytes())
    if swapped == "user.pem":
        pems["user_key.pem"] = pki.stranger_key.read_bytes()
    server = WebServer(tls=legacy_server_context(pki, client_auth=True))
    server.replies["/processorder.php"] = Reply(200, ORDER_PAGE)
    s = sim("fcm360w", "--route", f"220.180.239.212:8011=127.0.0.1:{server.port}",
            time_scale=SCALE)
    seen: list[str] = []
    try:
        failure = replay_on(s, "fcm360w-https-post-read", pems, timeout=5.0,
                           log=seen.append)
    finally:
        server.close()
    assert failure is not None and "'+QHTTPPOST: 0,200,285' got nothing" in failure
    assert "ignored '+QHTTPPOST: 712'" in seen, seen[-5:]
    assert server.seen.empty()
