"""The HTTP(S) client (AT+QHTTPCFG / QHTTPURL / QHTTPGET / QHTTPPOST / QHTTPPUT / QHTTPREAD /
QHTTPSTOP, and AT+QHTTPPOSTFILE / QHTTPREADFILE on the module's files): one session, real
requests through httpx (simulator.world.http), `OK` first and
`+QHTTPGET: <err>[,<status>[,<length>]]` when the response headers are in; the body streams
into the module's buffer while the host reads it.

Per family (profile data): the AT+QHTTPCFG keys and which of them play which part
(`roles`), the data prompt (`>` or CONNECT), the AT+QHTTPREAD form ("connect": CONNECT,
raw bytes, OK, then +QHTTPREAD: <err>; "inline": +QHTTPREAD: <n>,<left>, the bytes, OK),
and the +CME ERROR codes (`errors`, by what went wrong). Under the "closed_ind" role the end
of a session is reported (`+QHTTPURC: "closed"`); under "auto_output" the response comes out
by itself once complete, framed as AT+QHTTPREAD frames it, and AT+QHTTPREAD is refused.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from dataclasses import dataclass, field
from typing import Any

from simulator.at.command import Arg
from simulator.at.dispatcher import EXEC, TEST, WRITE, command
from simulator.at.errors import AtError
from simulator.at.replies import Data, Info, Prompt, Quoted, Replies
from simulator.lazy import lazy
from simulator.subsystems.base import Subsystem
from simulator.subsystems.files import ModuleFiles
from simulator.subsystems.keyed import KEY_SCHEMA, KeyTable, to_str
from simulator.subsystems.ssl_contexts import SslContexts
from simulator.subsystems.timing import within
from simulator.subsystems.uplink import carried, uplink
from simulator.world.disk import DiskError
from simulator.world.tls import TlsError, client_context

httpx = lazy("httpx")
http = lazy("simulator.world.http")  # requests: httpx over routed connections
_CHUNK = 65536


@dataclass
class Response:
    status: int
    reason: str
    version: str
    headers: list[tuple[bytes, bytes]]
    length: int | None
    body: bytearray = field(default_factory=bytearray)
    done: bool = False
    error: str | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    read: int = 0  # how much the host has read (the inline form reads in parts)

    def head(self) -> bytes:
        lines = [f"{self.version} {self.status} {self.reason}".encode("latin-1")]
        lines += [name + b": " + value for name, value in self.headers]
        return b"\r\n".join(lines) + b"\r\n\r\n"


class HttpClient(Subsystem):
    name = "http"
    section = "http"
    schema: Any = {
        "keys": KEY_SCHEMA,
        # which key plays which part: url, ssl_context (its values: ctx[, connect id]),
        # response_header, request_header, content_type, auth, closed_ind, auto_output
        "roles": {str: str},
        "prompt": str,  # ">" or "CONNECT": how the URL and body data phases start
        "read_form": str,  # "connect" | "inline"
        "errors": {str: int},
        "test": {str: [str]},
        "content_types": [str],  # by the "contenttype" value
        "user_agent": str,
        "follow_redirects": bool,
        "url_limit": int,
        "body_limit": int,  # POST/PUT data length
        "rsptime": int,  # default response time (s)
        "input_time": int,  # default data input time (s)
    }

    def __init__(self, module: Any):
        super().__init__(module)
        self.cfg = KeyTable({})
        self.url = ""
        self.headers: list[tuple[str, str]] = []
        self.response: Response | None = None
        self.task: asyncio.Task | None = None

    def reset(self) -> None:
        self._stop()
        self.cfg = KeyTable(self.config.get("keys", {}))
        self.url, self.headers = "", []

    def snapshot(self) -> dict[str, Any]:
        r = self.response
        return {"url": self.url, "config": self.cfg.values, "busy": self._busy(),
                "response": None if r is None else {"status": r.status, "received": len(r.body),
                                                    "done": r.done, "read": r.read}}

    def _stop(self) -> None:
        if self.task and not self.task.done():
            self.task.cancel()
        self.task, self.response = None, None

    def _busy(self) -> bool:
        """A request is under way: its result line is not out yet. From then on the host may
        read the body or start the next request (which drops what is left of this one)."""
        return self.task is not None and not self.task.done() and self.response is None

    def error(self, what: str) -> AtError:
        return AtError(self.code(what))

    def code(self, what: str) -> int:
        errors = self.config.get("errors", {})
        return errors.get(what, errors.get("unknown", 701))

    def _role(self, role: str, default: Any = None) -> Any:
        key = self.config.get("roles", {}).get(role)
        if key is None or not self.cfg.knows(key):
            return default
        return self.cfg.get(key)

    def _test(self, name: str) -> Replies:
        return [Info.text(line) for line in self.config.get("test", {}).get(name, [])]

    # -- AT+QHTTPCFG ----------------------------------------------------------------------------
    @command("+QHTTPCFG", TEST)
    def qhttpcfg_test(self) -> Replies:
        return self._test("+QHTTPCFG")

    @command("+QHTTPCFG", WRITE)
    def qhttpcfg(self, key: str, *values: Arg) -> Replies:
        key = key.lower()
        if key == "reset" and self.cfg.knows("reset"):
            self.reset()
            return None
        if key == "url" and self.config.get("roles", {}).get("url") == "url":
            if not values:
                return Info.of("+QHTTPCFG", Quoted("url"), Quoted(self.url))
            self._set_url(to_str(values[0]))
            return None
        if key == "header" and self.cfg.knows("header"):
            return self._header(values)
        if not self.cfg.knows(key):
            raise self.error("param")
        if not values:
            return Info.of("+QHTTPCFG", Quoted(key),
                           *(Quoted(v) if isinstance(v, str) else v for v in self.cfg.get(key)))
        try:
            self.cfg.set(key, list(values))
        except AtError:
            raise self.error("param") from None
        return None

    def _header(self, values: tuple[Arg, ...]) -> Replies:
        """"header": a "Name: value" line adds or replaces a header, a bare name removes it."""
        if not values:
            return [Info.of("+QHTTPCFG", Quoted("header"), Quoted(f"{n}: {v}"))
                    for n, v in self.headers]
        line = to_str(values[0])
        name, sep, value = line.partition(":")
        name = name.strip()
        self.headers = [(n, v) for n, v in self.headers if n.lower() != name.lower()]
        if sep:
            self.headers.append((name, value.strip()))
        return None

    def _set_url(self, url: str) -> None:
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, ValueError):
            raise self.error("url") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise self.error("url")
        self.url = url

    # -- AT+QHTTPURL ----------------------------------------------------------------------------
    @command("+QHTTPURL", TEST)
    def qhttpurl_test(self) -> Replies:
        return self._test("+QHTTPURL")

    @command("+QHTTPURL", WRITE)
    def qhttpurl(self, length: int, timeout: int = 60) -> Replies:
        if not 0 < length <= self.config.get("url_limit", 700) or not 0 < timeout <= 65535:
            raise self.error("param")
        if self._busy():
            raise self.error("busy")

        def take(data: bytes) -> Replies:
            self._set_url(data.decode("latin-1").strip())
            return None

        return Prompt(take, length=length, text=self._prompt(), timeout=timeout, echo=False,
                      on_cancel=self._input_timeout)

    @command("+QHTTPURL", EXEC)
    def qhttpurl_read(self) -> Replies:
        return Info.of("+QHTTPURL", Quoted(self.url)) if self.url else None

    def _prompt(self) -> str:
        return "CONNECT\r\n" if self.config.get("prompt", ">") == "CONNECT" else "> "

    def _input_timeout(self) -> Replies:
        raise self.error("input_timeout")

    # -- requests -------------------------------------------------------------------------------
    @command("+QHTTPGET", TEST)
    def qhttpget_test(self) -> Replies:
        return self._test("+QHTTPGET")

    @command("+QHTTPGET", EXEC)
    def qhttpget_default(self) -> Replies:
        return self.qhttpget(self.config.get("rsptime", 60))

    @command("+QHTTPGET", WRITE)
    def qhttpget(self, rsptime: int) -> Replies:
        self._ready(rsptime)
        self._start("GET", "+QHTTPGET", None, rsptime)
        return None

    @command("+QHTTPPOST", TEST)
    def qhttppost_test(self) -> Replies:
        return self._test("+QHTTPPOST")

    @command("+QHTTPPOST", WRITE)
    def qhttppost(self, length: int, input_time: int | None = None,
                  rsptime: int | None = None) -> Replies:
        return self._with_body("POST", "+QHTTPPOST", length, input_time, rsptime)

    @command("+QHTTPPUT", TEST)
    def qhttpput_test(self) -> Replies:
        return self._test("+QHTTPPUT")

    @command("+QHTTPPUT", WRITE)
    def qhttpput(self, length: int, input_time: int | None = None,
                 rsptime: int | None = None) -> Replies:
        return self._with_body("PUT", "+QHTTPPUT", length, input_time, rsptime)

    def _ready(self, rsptime: int) -> None:
        if not 0 < rsptime <= 65535:
            raise self.error("param")
        if self._busy():
            raise self.error("busy")
        if not self.url:
            raise self.error("empty_url")

    def _with_body(self, method: str, prefix: str, length: int, input_time: int | None,
                   rsptime: int | None) -> Replies:
        rsptime = self.config.get("rsptime", 60) if rsptime is None else rsptime
        input_time = self.config.get("input_time", 60) if input_time is None else input_time
        if not 0 < length <= self.config.get("body_limit", 1024000) or \
                not 0 < input_time <= 65535:
            raise self.error("param")
        self._ready(rsptime)

        def send(body: bytes) -> Replies:
            self._start(method, prefix, body, rsptime)
            return None

        return Prompt(send, length=length, text=self._prompt(), timeout=input_time,
                      echo=False, on_cancel=self._input_timeout)

    def _request(self, method: str, body: bytes | None) -> httpx.Request:
        url = httpx.URL(self.url)
        custom = self._role("request_header", [0])[0]
        if custom and body is not None:
            return _raw_request(url, body)
        headers = [("Accept", "*/*"),
                   ("User-Agent", self.config.get("user_agent", "QUECTEL_MODULE")),
                   ("Connection", "Keep-Alive")]
        if body is not None:
            types = self.config.get("content_types", [])
            kind = self._role("content_type", [0])[0]
            if kind < len(types):
                headers.append(("Content-Type", types[kind]))
        auth = self._role("auth", [""])[0]
        if auth:
            headers.append(("Authorization", "Basic " + base64.b64encode(auth.encode()).decode()))
        names = {n.lower() for n, _ in self.headers}
        headers = [(n, v) for n, v in headers if n.lower() not in names] + self.headers
        return httpx.Request(method, url, headers=headers, content=body)

    def _tls(self) -> tuple[Any, bool]:
        """The TLS client an https URL uses (None for http) and whether it sends SNI."""
        if httpx.URL(self.url).scheme != "https":
            return None, False
        values = self._role("ssl_context", [0])
        ssl = self.m.get(SslContexts)
        settings = ssl.settings(values[0], values[1] if len(values) > 1 else 0)
        return client_context(settings), settings.sni

    def _start(self, method: str, prefix: str, body: bytes | None, rsptime: int) -> None:
        self._stop()
        self.task = asyncio.get_running_loop().create_task(
            self._run(method, prefix, body, rsptime))

    async def _run(self, method: str, prefix: str, body: bytes | None, rsptime: int) -> None:
        try:
            await uplink(self.m)
            if not carried(self.m, self._role("context", [None])[0]):
                self._failed(prefix, "deactivated", "PDP context not active")
                return
            request = self._request(method, body)
            tls, sni = self._tls()
        except TlsError as exc:
            self._failed(prefix, "tls", str(exc))
            return
        except AtError:
            self._failed(prefix, "param", "bad request header")
            return
        client = httpx.AsyncClient(transport=http.RoutedTransport(self.m, tls, sni))
        try:
            follow = self.config.get("follow_redirects", False)
            got = await within(self.m.clock, client.send(request, stream=True,
                                                         follow_redirects=follow), rsptime)
        except TimeoutError:
            await client.aclose()
            self._failed(prefix, "timeout", "no response in time")
            return
        except (httpx.HTTPError, OSError) as exc:
            await client.aclose()
            self._failed(prefix, http.failure(exc), repr(exc))
            return
        length = got.headers.get("content-length")
        response = Response(got.status_code, got.reason_phrase, got.http_version,
                            list(got.headers.raw), int(length) if length and
                            length.isdigit() else None)
        self.response = response
        self.m.log.emit("http-response", status=got.status_code, length=length)
        extra = [response.length] if response.length is not None else []
        self.m.urc(Info.of(prefix, 0, got.status_code, *extra))
        try:
            async for part in got.aiter_raw(_CHUNK):
                response.body += part
                response.changed.set()
        except (httpx.HTTPError, OSError) as exc:
            response.error = http.failure(exc)
        finally:
            response.done = True
            response.changed.set()
            await got.aclose()
            await client.aclose()
        if self._role("auto_output", [0])[0]:
            self._output(response)
        if self._role("closed_ind", [0])[0]:
            self.m.urc(Info.of("+QHTTPURC", Quoted("closed")))

    def _output(self, response: Response) -> None:
        """The whole response, unasked, as AT+QHTTPREAD would have framed it."""
        response.read = len(response.body)
        self.m.urc(Info.text("CONNECT"), Data(self._head(response) + bytes(response.body)))
        self.m.urc(Info.text("OK"))
        self.m.urc(Info.of("+QHTTPREAD", self._read_error(response, True)))

    def _failed(self, prefix: str, what: str, detail: str) -> None:
        self.m.log.emit("http-failed", error=detail, cause=what)
        self.m.urc(Info.of(prefix, self.code(what)))

    @command("+QHTTPPOSTFILE", WRITE)
    def qhttppostfile(self, file_name: str, rsptime: int | None = None) -> Replies:
        """POST a module file as the body (or, under "requestheader" 1, the whole request)."""
        rsptime = self.config.get("rsptime", 60) if rsptime is None else rsptime
        self._ready(rsptime)
        body = self._files(lambda disk: disk.read(file_name))
        self._start("POST", "+QHTTPPOSTFILE", body, rsptime)
        return None

    def _files(self, use: Any) -> Any:
        """`use(disk)` on the module's file system; its failures are the file commands' own."""
        files = self.m.get(ModuleFiles)
        try:
            return use(files.disk)
        except DiskError as exc:
            raise files.error(exc.reason) from None

    # -- AT+QHTTPREAD ----------------------------------------------------------------------------
    @command("+QHTTPREAD", TEST)
    def qhttpread_test(self) -> Replies:
        return self._test("+QHTTPREAD")

    @command("+QHTTPREAD", EXEC)
    async def qhttpread_default(self) -> Replies:
        return await self.qhttpread(60)

    @command("+QHTTPREAD", WRITE)
    async def qhttpread(self, value: int) -> Replies:
        response = self._readable()
        if not 0 < value <= (1 << 20 if self.config.get("read_form") == "inline" else 65535):
            raise self.error("param")
        if self.config.get("read_form", "connect") == "inline":
            return await self._read_inline(response, value)
        return await self._read_connect(response, value)

    def _readable(self) -> Response:
        if self._role("auto_output", [0])[0]:
            raise self.error("auto_output")
        if self.response is None:
            raise self.error("busy" if self._busy() else "no_request")
        return self.response

    @command("+QHTTPREADFILE", WRITE)
    def qhttpreadfile(self, file_name: str, wait: int = 60) -> Replies:
        """Store the response in a module file: `OK` now, `+QHTTPREADFILE: <err>` once done."""
        response = self._readable()
        if not 0 < wait <= 65535:
            raise self.error("param")
        self._files(lambda disk: disk.name(file_name))
        asyncio.get_running_loop().create_task(self._read_into(response, file_name, wait))
        return None

    async def _read_into(self, response: Response, file_name: str, wait: int) -> None:
        complete = await self._wait_body(response, wait, None)
        data = self._head(response) + bytes(response.body[response.read:])
        response.read = len(response.body)
        err = self._read_error(response, complete)
        try:
            self.m.get(ModuleFiles).disk.save(file_name, data)
        except DiskError as exc:
            self.m.log.emit("http-failed", error=f"saving {file_name}: {exc.reason}")
            err = self.code("memory" if exc.reason == "full" else "unknown")
        self.m.urc(Info.of("+QHTTPREADFILE", err))

    async def _wait_body(self, response: Response, gap: float, enough: int | None) -> bool:
        """Until the body is complete (or `enough` bytes are in); False after a silent gap."""
        while not response.done and (enough is None or len(response.body) < enough):
            response.changed.clear()
            try:
                await within(self.m.clock, response.changed.wait(), gap)
            except TimeoutError:
                return False
        return True

    def _head(self, response: Response) -> bytes:
        return response.head() if self._role("response_header", [0])[0] else b""

    def _read_error(self, response: Response, complete: bool) -> int:
        if not complete:
            return self.code("read_timeout")
        return 0 if response.error is None else self.code(response.error)

    async def _read_connect(self, response: Response, wait: int) -> Replies:
        complete = await self._wait_body(response, wait, None)
        data = self._head(response) + bytes(response.body[response.read:])
        response.read = len(response.body)
        self.m.urc(Info.of("+QHTTPREAD", self._read_error(response, complete)))
        return [Info.text("CONNECT"), Data(data)]

    async def _read_inline(self, response: Response, length: int) -> Replies:
        await self._wait_body(response, self.config.get("rsptime", 60), response.read + length)
        data = bytes(response.body[response.read:response.read + length])
        response.read += len(data)
        left = max(0, (response.length or len(response.body)) - response.read)
        return [Info.of("+QHTTPREAD", len(data), left), Data(data)]

    # -- AT+QHTTPSTOP ----------------------------------------------------------------------------
    @command("+QHTTPSTOP", TEST)
    def qhttpstop_test(self) -> None:
        return None

    @command("+QHTTPSTOP", EXEC)
    def qhttpstop(self) -> None:
        self._stop()


def _raw_request(url: httpx.URL, text: bytes) -> httpx.Request:
    """The request the host wrote itself ("requestheader" 1): request line, headers, body."""
    head, _, body = text.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise AtError("invalid_param")
    method, target, _ = parts
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise AtError("invalid_param")
        if name.strip().lower() not in ("host", "content-length"):
            headers.append((name.strip(), value.strip()))
    with contextlib.suppress(ValueError):
        url = url.copy_with(raw_path=target.encode("latin-1"))
    return httpx.Request(method, url, headers=headers, content=body)
