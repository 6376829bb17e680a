"""Real servers for the application tests, on 127.0.0.1: a mosquitto broker with plain, TLS,
mutual-TLS and password listeners, an independent MQTT client, and an HTTP(S) server whose
answers a test scripts. Certificates come from a test CA made with trustme.
"""

from __future__ import annotations

import getpass
import os
import queue
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import paho.mqtt.client as paho
import trustme
from paho.mqtt.enums import CallbackAPIVersion

# names the documents dial; the server certificates carry them so routes can lead there
DOCUMENT_HOSTS = ["localhost", "127.0.0.1", "220.180.239.212", "112.31.84.164",
                  "www.alipay.com", "a9ohm2zbim3d5-ats.iot.us-east-1.amazonaws.com",
                  "ncu-receiver.fukuku.saico.dev", "broker.test"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


@dataclass
class Pki:
    """A test CA, a server certificate for the document hosts, and a client certificate."""

    dir: Path
    ca: trustme.CA = field(default_factory=trustme.CA)

    def __post_init__(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.server = self.ca.issue_cert(*DOCUMENT_HOSTS)
        self.client = self.ca.issue_cert("device001")
        self.other_ca = trustme.CA()
        self.stranger = self.other_ca.issue_cert("device001")  # a client nobody trusts
        self.ca_pem = self._write("ca.pem", self.ca.cert_pem.bytes())
        self.server_pem = self._write("server.pem", self.server.cert_chain_pems[0].bytes())
        self.server_key = self._write("server.key", self.server.private_key_pem.bytes())
        self.client_pem = self._write("client.pem", self.client.cert_chain_pems[0].bytes())
        self.client_key = self._write("client.key", self.client.private_key_pem.bytes())
        self.stranger_pem = self._write("stranger.pem",
                                        self.stranger.cert_chain_pems[0].bytes())
        self.stranger_key = self._write("stranger.key", self.stranger.private_key_pem.bytes())

    def _write(self, name: str, data: bytes) -> Path:
        path = self.dir / name
        path.write_bytes(data)
        return path

    def server_context(self, client_auth: bool = False) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.server.configure_cert(ctx)
        if client_auth:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(cafile=str(self.ca_pem))
        return ctx


def padded(data: bytes, size: int) -> bytes:
    """A PEM file made exactly `size` bytes long (text after the PEM block is ignored)."""
    assert len(data) <= size, (len(data), size)
    return data + b"\n" * (size - len(data))


class Broker:
    """mosquitto on 127.0.0.1: `plain`, `tls` (server auth), `mtls` (client certificate
    required) and `auth` (user names and passwords from a password file) listeners."""

    def __init__(self, workdir: Path, pki: Pki, users: dict[str, str] | None = None):
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        assert os.path.exists(exe), "mosquitto is not installed (scripts/test installs it)"
        self.exe, self.workdir, self.pki = exe, workdir, pki
        workdir.mkdir(parents=True, exist_ok=True)
        self.plain, self.tls, self.mtls, self.auth = (free_port() for _ in range(4))
        self.users = users or {}
        self.proc: subprocess.Popen | None = None
        self.start()

    def _config(self) -> Path:
        passwords = self.workdir / "passwords"
        passwords.write_text("")
        for user, password in self.users.items():
            subprocess.run([shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd",
                            "-b", str(passwords), user, password], check=True)
        p = self.pki
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(f"""
per_listener_settings true
user {getpass.getuser()}
persistence false
log_dest file {self.workdir / "broker.log"}
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
listener {self.plain} 127.0.0.1
allow_anonymous true
listener {self.tls} 127.0.0.1
allow_anonymous true
cafile {p.ca_pem}
certfile {p.server_pem}
keyfile {p.server_key}
listener {self.mtls} 127.0.0.1
allow_anonymous true
cafile {p.ca_pem}
certfile {p.server_pem}
keyfile {p.server_key}
require_certificate true
listener {self.auth} 127.0.0.1
allow_anonymous false
password_file {passwords}
""")
        return conf

    def start(self) -> None:
        log = (self.workdir / "mosquitto.out").open("ab")
        self.proc = subprocess.Popen([self.exe, "-c", str(self._config())], stdout=log,
                                     stderr=subprocess.STDOUT)
        for port in (self.plain, self.tls, self.mtls, self.auth):
            wait_listening(port)

    def log(self) -> str:
        return (self.workdir / "broker.log").read_text()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def freeze(self) -> None:
        """Stop answering without closing anything (keepalive loss)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def client(self, **kwargs: object) -> Observer:
        return Observer(self.plain, **kwargs)


class Observer:
    """An independent MQTT client (paho in its own thread) that sees what the module does."""

    def __init__(self, port: int, client_id: str = "observer", clean: bool = True):
        self.messages: queue.Queue[paho.MQTTMessage] = queue.Queue()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=clean)
        self.client.on_message = lambda c, u, m: self.messages.put(m)
        connected = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: connected.set()
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        assert connected.wait(10), "observer did not connect"

    def subscribe(self, topic: str, qos: int = 1) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *a: done.set()
        self.client.subscribe(topic, qos)
        assert done.wait(10)

    def publish(self, topic: str, payload: bytes | str, qos: int = 1,
                retain: bool = False) -> None:
        self.client.publish(topic, payload, qos, retain).wait_for_publish(10)

    def next(self, timeout: float = 10.0) -> paho.MQTTMessage:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no message reached the observer") from None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    chunked: bool = False
    delay: float = 0.0  # seconds before answering


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    server_name: str | None = None


class WebServer:
    """A threaded HTTP (or HTTPS) server: `replies[path]` is what it answers (or
    `replies["METHOD path"]`, for that method only), every request it got lands in `seen`.
    Raw header lines are written as given (order and case kept)."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.replies: dict[str, Reply] = {}
        self.seen: queue.Queue[Seen] = queue.Queue()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                name = getattr(self.connection, "server_hostname", None)
                outer.seen.put(Seen(self.command, self.path, dict(self.headers.items()), body,
                                    name))
                path = self.path.split("?")[0]
                reply = outer.replies.get(f"{self.command} {path}") or \
                    outer.replies.get(path, Reply(404, b"not here"))
                if reply.delay:
                    time.sleep(reply.delay)
                head = [f"HTTP/1.1 {reply.status} {_reason(reply.status)}"]
                head += [f"{k}: {v}" for k, v in reply.headers]
                if reply.chunked:
                    head.append("Transfer-Encoding: chunked")
                elif not any(k.lower() == "content-length" for k, _ in reply.headers):
                    head.append(f"Content-Length: {len(reply.body)}")
                self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
                if reply.chunked:
                    for i in range(0, len(reply.body), 1000):
                        part = reply.body[i:i + 1000]
                        self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.wfile.write(reply.body)
                self.wfile.flush()

            do_GET = do_POST = do_PUT = do_HEAD = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def request(self, timeout: float = 10.0) -> Seen:
        try:
            return self.seen.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("the server got no request") from None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class TlsListener:
    """A TLS server on 127.0.0.1: each client is handshaken on a thread of its own and handed
    to `serve`, and its connection closed when `serve` returns."""

    def __init__(self, context: ssl.SSLContext, serve: Callable[[ssl.SSLSocket], None]):
        self.context = context
        self.serve = serve
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections: list[ssl.SSLSocket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(raw,), daemon=True).start()

    def _handle(self, raw: socket.socket) -> None:
        try:
            with self.context.wrap_socket(raw, server_side=True) as conn:
                self.connections.append(conn)
                self.serve(conn)
        except (OSError, ssl.SSLError):
            return

    def close(self) -> None:
        self.listener.close()
        for conn in self.connections:
            conn.close()
