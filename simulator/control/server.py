"""The control socket: JSON lines over a UNIX stream socket, served in the module's event loop.

Request:  {"verb": "network register", "args": {"roaming": true}, "id": 7}   (args, id optional)
Answer:   {"ok": true, "result": {...}, "id": 7}
      or  {"ok": false, "error": "unknown verb 'x' (known: ...)", "usage": true, "id": 7}

A bad request is answered and forgotten: the connection and the module carry on. The socket is
owner-only from the moment it exists (bound in a private directory, then moved into place).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import tempfile
from pathlib import Path
from typing import Any

from simulator.control.registry import UsageError, VerbError
from simulator.control.surface import Control

LINE_LIMIT = 1 << 16


class ControlServer:
    def __init__(self, control: Control, path: Path):
        self.control = control
        self.path = path
        self._server: asyncio.AbstractServer | None = None
        self._inode: int | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._serve, sock=_bind_private(self.path),
                                                       limit=LINE_LIMIT)
        self._inode = self.path.stat().st_ino

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:  # longer than LINE_LIMIT: answer, then hang up
                    writer.write(self._encode({"ok": False, "usage": True,
                                          "error": f"request longer than {LINE_LIMIT} bytes"}))
                    break
                if not line:
                    break
                if line.strip():
                    writer.write(self._encode(self.answer(line)))
                    await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def answer(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return {"ok": False, "usage": True, "error": f"bad JSON: {exc}"}
        if not isinstance(request, dict) or "verb" not in request:
            return {"ok": False, "usage": True,
                    "error": 'a request is an object: {"verb": ..., "args": {...}}'}
        tag = {"id": request["id"]} if "id" in request else {}
        try:
            result = self.control.run(request["verb"], request.get("args"), source="socket")
        except UsageError as exc:
            return {"ok": False, "usage": True, "error": str(exc), **tag}
        except VerbError as exc:
            return {"ok": False, "error": str(exc), **tag}
        except Exception as exc:  # a model bug must not take the control socket down
            self.control.m.log.emit("internal-error", error=repr(exc), verb=request["verb"])
            return {"ok": False, "error": f"internal error: {exc!r}", **tag}
        return {"ok": True, "result": result, **tag}

    def _encode(self, answer: dict[str, Any]) -> bytes:
        try:
            return json.dumps(answer).encode() + b"\n"
        except (TypeError, ValueError) as exc:  # a snapshot that is not plain data: a bug
            self.control.m.log.emit("internal-error", error=repr(exc))
            return json.dumps({"ok": False, "error": f"internal error: {exc}"}).encode() + b"\n"

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            if self.path.stat().st_ino == self._inode:  # still ours, not a newer module's
                self.path.unlink()




def _bind_private(path: Path) -> socket.socket:
    """A listening socket at `path`, mode 0600 before anyone can reach it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    private = Path(tempfile.mkdtemp(prefix=".ctl-", dir=path.parent))  # mode 0700
    try:
        staged = private / "s"
        sock.bind(str(staged))
        os.chmod(staged, 0o600)
        os.replace(staged, path)  # atomic; replaces a stale socket left by a crash
        sock.listen()
    except OSError:
        sock.close()
        raise
    finally:
        with contextlib.suppress(OSError):
            (private / "s").unlink()
        private.rmdir()
    sock.setblocking(False)
    return sock
