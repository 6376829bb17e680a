"""HTTP(S) against a real local server: the module's AT+QHTTP* answers and what the server got."""

from __future__ import annotations

import pytest
from appkit import Lines, attached
from servers import Reply, WebServer


@pytest.fixture
def web():
    servers: list[WebServer] = []

    def start(tls=None) -> WebServer:
        server = WebServer(tls)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def read_all(lines: Lines, command: str = "AT+QHTTPREAD=80") -> bytes:
    """CONNECT, the raw bytes, OK, then +QHTTPREAD: 0: the bytes between."""
    port = lines.port
    port.write(command.encode() + b"\r")
    end = b"\r\nOK\r\n\r\n+QHTTPREAD: 0\r\n"
    data = port.read_until(lambda b: b.endswith(end), timeout=30)
    assert data.startswith(b"\r\nCONNECT\r\n"), data[:40]
    return data[len(b"\r\nCONNECT\r\n"):-len(b"\r\n" + end)]


@pytest.mark.parametrize("size", [0, 1000, 200_000])
def test_get_with_response_headers(modem, web, size: int) -> None:
    server = web()
    body = bytes(i % 251 for i in range(size))
    server.replies["/data"] = Reply(200, body, [("Server", "nginx"), ("X-Seq", "7")])
    lines = Lines(modem("fcm360w", time_scale=1.0))
    assert lines.command('AT+QHTTPCFG="rsp/header",1') == ["OK"]
    url = f"http://127.0.0.1:{server.port}/data?x=1"
    assert lines.command(f'AT+QHTTPCFG="url","{url}"') == ["OK"]
    assert lines.command('AT+QHTTPCFG="url"') == [f'+QHTTPCFG: "url","{url}"', "OK"]
    assert lines.command("AT+QHTTPGET=80") == ["OK"]
    assert lines.wait(r"\+QHTTPGET:") == f"+QHTTPGET: 0,200,{size}"
    seen = server.request()
    assert (seen.method, seen.path) == ("GET", "/data?x=1")
    assert seen.headers["User-Agent"] == "QUECTEL_MODULE"
    raw = read_all(lines)
    head = (b"HTTP/1.1 200 OK\r\nServer: nginx\r\nX-Seq: 7\r\n"
            + f"Content-Length: {size}\r\n\r\n".encode())
    assert raw == head + body


@pytest.mark.parametrize(("method", "size"), [("POST", 1), ("POST", 5000), ("PUT", 100_000)])
def test_post_and_put_bodies(modem, web, method: str, size: int) -> None:
    server = web()
    server.replies["/up"] = Reply(201, b"stored")
    lines = Lines(modem("fcm360w", time_scale=1.0))
    assert lines.command(f'AT+QHTTPCFG="url","http://127.0.0.1:{server.port}/up"') == ["OK"]
    assert lines.command('AT+QHTTPCFG="header","X-Device: meter-7"') == ["OK"]
    body = bytes((i * 7) % 256 for i in range(size))
    assert lines.command(f"AT+QHTTP{method}={size},80,80") == ["CONNECT"]
    lines.send(body)
    assert lines.wait("OK") == "OK"
    assert lines.wait(rf"\+QHTTP{method}:") == f"+QHTTP{method}: 0,201,6"
    seen = server.request()
    assert (seen.method, seen.body, seen.headers["X-Device"]) == (method, body, "meter-7")
    assert read_all(lines) == b"stored"


def test_chunked_response_and_redirect_not_followed(modem, web) -> None:
    server = web()
    body = b"".join(b"line %d\n" % i for i in range(3000))
    server.replies["/chunks"] = Reply(200, body, chunked=True)
    server.replies["/moved"] = Reply(302, b"", [("Location", "/chunks")])
    lines = Lines(modem("fcm360w", time_scale=1.0))
    assert lines.command(f'AT+QHTTPCFG="url","http://127.0.0.1:{server.port}/chunks"') == ["OK"]
    assert lines.command("AT+QHTTPGET") == ["OK"]
    assert lines.wait(r"\+QHTTPGET:") == "+QHTTPGET: 0,200"  # no Content-Length, no length
    assert read_all(lines) == body
    assert lines.command(f'AT+QHTTPCFG="url","http://127.0.0.1:{server.port}/moved"') == ["OK"]
    assert lines.command("AT+QHTTPGET") == ["OK"]
    assert lines.wait(r"\+QHTTPGET:") == "+QHTTPGET: 0,302,0"


def test_errors_and_time_outs(modem, web) -> None:
    server = web()
    server.replies["/slow"] = Reply(200, b"late", delay=3.0)
    lines = Lines(modem("fcm360w", time_scale=1.0))
    assert lines.command("AT+QHTTPREAD=80") == ["+CME ERROR: 705"]  # no request yet
    assert lines.command("AT+QHTTPGET=80") == ["+CME ERROR: 708"]  # no URL
    assert lines.command('AT+QHTTPCFG="url","ftp://x"') == ["+CME ERROR: 707"]
    assert lines.command('AT+QHTTPCFG="nosuchkey",1') == ["+CME ERROR: 724"]
    assert lines.command(f'AT+QHTTPCFG="url","http://127.0.0.1:{server.port}/slow"') == ["OK"]
    assert lines.command("AT+QHTTPGET=1") == ["OK"]
    assert lines.wait(r"\+QHTTPGET:") == "+QHTTPGET: 702"
    assert lines.command('AT+QHTTPCFG="url","http://no-such-host.invalid/"') == ["OK"]
    assert lines.command("AT+QHTTPGET=10") == ["OK"]
    assert lines.wait(r"\+QHTTPGET:") == "+QHTTPGET: 710"
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    assert lines.command(f'AT+QHTTPCFG="url","http://127.0.0.1:{closed}/"') == ["OK"]
    assert lines.command("AT+QHTTPGET=10") == ["OK"]
    assert lines.wait(r"\+QHTTPGET:") == "+QHTTPGET: 712"
    assert lines.command("AT+QHTTPPOST=5,1,10") == ["CONNECT"]
    lines.send(b"ab")  # and nothing more: the input time runs out
    assert lines.wait(r"\+CME ERROR") == "+CME ERROR: 720"
    assert lines.command("AT+QHTTPSTOP") == ["OK"]


def test_https_with_server_authentication(modem, web, pki) -> None:
    server = web(pki.server_context())
    server.replies["/s"] = Reply(200, b"secret")
    lines = Lines(modem("fcm360w", time_scale=1.0))
    ca = pki.ca_pem.read_bytes()
    assert lines.command('AT+QFOPEN="ca.pem",1') == ["+QFOPEN: 1", "OK"]
    assert lines.command(f"AT+QFWRITE=1,{len(ca)}") == ["CONNECT"]
    lines.send(ca)
    lines.wait(r"\+QFWRITE:")
    for setting in ['"seclevel",1,1', '"cacert",1,"ca.pem"', '"sni",1,1']:
        assert lines.command(f"AT+QSSLCFG={setting}") == ["OK"]
    url = f"https://localhost:{server.port}/s"
    assert lines.command(f'AT+QHTTPCFG="url","{url}"') == ["OK"]
    assert lines.command("AT+QHTTPGET=30") == ["OK"]
    assert lines.wait(r"\+QHTTPGET:") == "+QHTTPGET: 0,200,6"
    assert read_all(lines) == b"secret"
    assert lines.command('AT+QSSLCFG="cacert",1,"nothere.pem"') == ["OK"]
    assert lines.command("AT+QHTTPGET=30") == ["OK"]
    assert lines.wait(r"\+QHTTPGET:") == "+QHTTPGET: 712"  # the TLS set-up fails


def test_bc660k_prompts_and_inline_read(modem, web) -> None:
    server = web()
    answer = b'{"module":{"code":"700.101.1001"},"data":{"messageId":"1940"}}'
    server.replies["/push"] = Reply(200, answer)
    lines = Lines(modem("bc660k", time_scale=1.0))
    attached(lines)
    for setting in ['"contextid",0', '"requestheader",0', '"contenttype",4']:
        assert lines.command(f"AT+QHTTPCFG={setting}") == ["OK"]
    url = f"http://127.0.0.1:{server.port}/push"
    assert lines.command(f"AT+QHTTPURL={len(url)},80") == ["> "]
    assert lines.command(url) == ["OK"]
    body = b'{"IMEI":"868020030003890","CSQ":29}'
    assert lines.command(f"AT+QHTTPPOST={len(body)}") == ["> "]
    lines.send(body)
    assert lines.wait("OK") == "OK"
    assert lines.wait(r"\+QHTTPPOST:") == f"+QHTTPPOST: 0,200,{len(answer)}"
    seen = server.request()
    assert (seen.body, seen.headers["Content-Type"]) == (body, "application/json")
    lines.port.write(b"AT+QHTTPREAD=20\r")
    first = lines.port.read_until(lambda b: b.endswith(b"OK\r\n"))
    assert first == b"\r\n+QHTTPREAD: 20,%d\r\n" % (len(answer) - 20) + answer[:20] + \
        b"\r\n\r\nOK\r\n"
    lines.port.write(b"AT+QHTTPREAD=1000\r")
    rest = lines.port.read_until(lambda b: b.endswith(b"OK\r\n"))
    assert rest == b"\r\n+QHTTPREAD: %d,0\r\n" % (len(answer) - 20) + answer[20:] + \
        b"\r\n\r\nOK\r\n"
    assert lines.command("AT+CMEE=1") == ["OK"]
    assert lines.command("AT+QHTTPGET=0") == ["+CME ERROR: 730"]


def test_ec200t_custom_request_header(modem, web) -> None:
    server = web()
    server.replies["/raw"] = Reply(200, b"ok")
    lines = Lines(modem("ec200t", time_scale=1.0))
    attached(lines)
    assert lines.command("AT+QIACT=1") == ["OK"]
    assert lines.command("AT+CMEE=1") == ["OK"]
    assert lines.command('AT+QHTTPCFG="requestheader",1') == ["OK"]
    url = f"http://127.0.0.1:{server.port}/raw"
    assert lines.command(f"AT+QHTTPURL={len(url)},80") == ["CONNECT"]
    lines.send(url.encode())
    assert lines.wait("OK") == "OK"
    request = (b"POST /raw HTTP/1.1\r\nHost: ignored\r\nX-Custom: yes\r\n"
               b"Content-Type: text/plain\r\n\r\nhello")
    assert lines.command(f"AT+QHTTPPOST={len(request)},80,80") == ["CONNECT"]
    lines.send(request)
    assert lines.wait(r"\+QHTTPPOST:") == "+QHTTPPOST: 0,200,2"
    seen = server.request()
    assert (seen.headers["X-Custom"], seen.body) == ("yes", b"hello")
    assert read_all(lines) == b"ok"


def _ec200t_online(modem, **kwargs) -> Lines:
    lines = Lines(modem("ec200t", time_scale=1.0, **kwargs))
    attached(lines)
    assert lines.command("AT+QIACT=1") == ["OK"]
    assert lines.command("AT+CMEE=1") == ["OK"]
    return lines


def _set_url(lines: Lines, url: str) -> None:
    assert lines.command(f"AT+QHTTPURL={len(url)},80") == ["CONNECT"]
    lines.send(url.encode())
    assert lines.wait("OK") == "OK"


def test_ec200t_bodies_from_and_into_module_files(modem, web, tmp_path) -> None:
    server = web()
    answer = bytes((i * 13) % 256 for i in range(150_000))  # more than one read
    server.replies["/file"] = Reply(200, answer)
    files = tmp_path / "data" / "files"  # the module's own directory (the sim fixture's)
    files.mkdir(parents=True)
    body = bytes((i * 7) % 256 for i in range(120_000))
    (files / "reading.bin").write_bytes(body)
    lines = _ec200t_online(modem)
    _set_url(lines, f"http://127.0.0.1:{server.port}/file")
    assert lines.command('AT+QHTTPPOSTFILE="UFS:reading.bin",80') == ["OK"]
    assert lines.wait(r"\+QHTTPPOSTFILE:") == f"+QHTTPPOSTFILE: 0,200,{len(answer)}"
    seen = server.request()
    assert (seen.method, seen.body) == ("POST", body)
    assert lines.command('AT+QHTTPREADFILE="UFS:answer.bin",80') == ["OK"]
    assert lines.wait(r"\+QHTTPREADFILE:") == "+QHTTPREADFILE: 0"
    assert (files / "answer.bin").read_bytes() == answer
    # names that leave the module's directory, and a file that is not there
    for name in ("../escape.bin", "/tmp/escape.bin", "UFS:missing.bin"):
        assert lines.command(f'AT+QHTTPPOSTFILE="{name}",80') == ["ERROR"], name
    assert lines.command("AT+QHTTPGET=80") == ["OK"]
    assert lines.wait(r"\+QHTTPGET:") == f"+QHTTPGET: 0,200,{len(answer)}"
    assert lines.command('AT+QHTTPREADFILE="../escape.bin",80') == ["ERROR"]
    assert not (tmp_path / "data" / "escape.bin").exists()
    assert sorted(p.name for p in files.iterdir()) == ["answer.bin", "reading.bin"]


def test_closed_indication_and_automatic_output(modem, web) -> None:
    server = web()
    server.replies["/auto"] = Reply(200, b"sent without asking")
    lines = _ec200t_online(modem)
    assert lines.command('AT+QHTTPCFG="closedind",1') == ["OK"]
    assert lines.command('AT+QHTTPCFG="rspout/auto",1') == ["OK"]
    _set_url(lines, f"http://127.0.0.1:{server.port}/auto")
    lines.port.write(b"AT+QHTTPGET=80\r")
    end = b'\r\n+QHTTPREAD: 0\r\n\r\n+QHTTPURC: "closed"\r\n'
    out = lines.port.read_until(lambda b: b.endswith(end), timeout=30)
    assert out == (b"\r\nOK\r\n\r\n+QHTTPGET: 0,200,19\r\n\r\nCONNECT\r\nsent without asking"
                   b"\r\nOK\r\n" + end)
    assert lines.command("AT+QHTTPREAD=80") == ["+CME ERROR: 701"]  # refused under auto output
