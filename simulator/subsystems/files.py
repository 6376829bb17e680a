"""Module files: the FCM360W UFS commands (AT+QFOPEN / QFREAD / QFWRITE / QFCLOSE / QFLST) on
the module's real directory (simulator.world.disk), with file handles and positions.

Handles are the lowest free number from `first_handle` (the manual's examples get 1 again
after every close); open files are forgotten at a reboot, the files themselves are not.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from typing import Any

from simulator.at.dispatcher import EXEC, READ, TEST, WRITE, command
from simulator.at.errors import AtError
from simulator.at.replies import Data, Info, Prompt, Quoted, Replies
from simulator.profile import Duration
from simulator.subsystems.base import Subsystem
from simulator.world.disk import Disk, DiskError


@dataclass
class OpenFile:
    name: str
    fd: int
    mode: int

    @property
    def position(self) -> int:
        return os.lseek(self.fd, 0, os.SEEK_CUR)


class ModuleFiles(Subsystem):
    name = "files"
    section = "files"
    schema: Any = {
        "capacity": int,  # bytes the module's storage holds
        "name_limit": int,  # bytes in a file name
        "prefix": str,  # the drive prefix names may carry ("UFS:")
        "first_handle": int,
        "max_open": int,
        "write_length": int,  # AT+QFWRITE's default <length>
        "write_timeout": Duration,  # AT+QFWRITE's default input <timeout>
        "errors": {str: int},  # "name", "missing", "full", "io", "handle", "param" -> CME code
    }

    def __init__(self, module: Any):
        super().__init__(module)
        cfg = self.config
        self.disk = Disk(module.store.root / "files", cfg.get("capacity", 1 << 20),
                         cfg.get("name_limit", 80), cfg.get("prefix", ""))
        self.open_files: dict[int, OpenFile] = {}

    def reset(self) -> None:
        for handle in list(self.open_files):
            self._close(handle)

    def snapshot(self) -> dict[str, Any]:
        return {"files": dict(self.disk.files()), "free": self.disk.free(),
                "open": {h: {"name": f.name, "mode": f.mode} for h, f in self.open_files.items()}}

    def error(self, reason: str) -> AtError:
        """The family's answer to a file failure (plain ERROR unless the profile maps it)."""
        return AtError(self.config.get("errors", {}).get(reason))

    def _file(self, handle: int) -> OpenFile:
        found = self.open_files.get(handle)
        if found is None:
            raise self.error("handle")
        return found

    def _close(self, handle: int) -> None:
        os.close(self.open_files.pop(handle).fd)

    # -- AT+QFOPEN ----------------------------------------------------------------------------
    @command("+QFOPEN", TEST)
    def qfopen_test(self) -> Replies:
        return Info.of("+QFOPEN", "<filename>", "(0-2)")

    @command("+QFOPEN", READ)
    def qfopen_read(self) -> Replies:
        return [Info.of("+QFOPEN", Quoted(f.name), h, f.mode)
                for h, f in sorted(self.open_files.items())]

    @command("+QFOPEN", WRITE)
    def qfopen(self, filename: str, mode: int = 0) -> Replies:
        if mode not in (0, 1, 2):
            raise self.error("param")
        first = self.config.get("first_handle", 1)
        if len(self.open_files) >= self.config.get("max_open", 8):
            raise self.error("io")
        try:
            name = self.disk.name(filename)
            fd = self.disk.open(name, create=mode != 2, truncate=mode == 1, write=mode != 2)
        except DiskError as exc:
            raise self.error(exc.reason) from None
        handle = next(h for h in range(first, first + len(self.open_files) + 1)
                      if h not in self.open_files)
        self.open_files[handle] = OpenFile(name, fd, mode)
        return Info.of("+QFOPEN", handle)

    # -- AT+QFREAD / AT+QFWRITE -----------------------------------------------------------------
    @command("+QFREAD", TEST)
    def qfread_test(self) -> Replies:
        return Info.of("+QFREAD", "<filehandle>", "<length>")

    @command("+QFREAD", WRITE)
    def qfread(self, handle: int, length: int | None = None) -> Replies:
        f = self._file(handle)
        if length is not None and length < 0:
            raise self.error("param")
        data = os.read(f.fd, length if length is not None else os.fstat(f.fd).st_size)
        return [Info.text(f"CONNECT {len(data)}"), Data(data)]

    @command("+QFWRITE", TEST)
    def qfwrite_test(self) -> Replies:
        return Info.of("+QFWRITE", "<filehandle>", "<length>", "<timeout>")

    @command("+QFWRITE", WRITE)
    def qfwrite(self, handle: int, length: int | None = None,
                timeout: int | None = None) -> Replies:
        f = self._file(handle)
        if f.mode == 2:
            raise self.error("io")  # opened read-only
        length = self.config.get("write_length", 10240) if length is None else length
        wait = Duration.parse(self.config.get("write_timeout", 5)) if timeout is None \
            else timeout
        if length <= 0 or wait <= 0:
            raise self.error("param")
        size = os.fstat(f.fd).st_size
        if max(0, f.position + length - size) > self.disk.free():
            raise self.error("full")

        def store(data: bytes) -> Replies:
            os.write(f.fd, data)
            return Info.of("+QFWRITE", len(data), os.fstat(f.fd).st_size)

        # the data phase ends after <length> bytes, or at the time-out with what came
        return Prompt(store, length=length, text="CONNECT\r\n", timeout=wait, echo=False,
                      on_timeout=store)

    # -- AT+QFCLOSE / AT+QFLST ------------------------------------------------------------------
    @command("+QFCLOSE", TEST)
    def qfclose_test(self) -> Replies:
        return Info.of("+QFCLOSE", "<filehandle>")

    @command("+QFCLOSE", WRITE)
    def qfclose(self, handle: int) -> None:
        self._file(handle)
        self._close(handle)

    @command("+QFLST", TEST)
    def qflst_test(self) -> None:
        return None

    @command("+QFLST", EXEC)
    def qflst_all(self) -> Replies:
        return self.qflst("*")

    @command("+QFLST", WRITE)
    def qflst(self, pattern: str) -> Replies:
        prefix = self.disk.prefix
        if prefix and pattern.upper().startswith(prefix.upper()):
            pattern = pattern[len(prefix):]
        pattern = pattern or "*"
        return [Info.of("+QFLST", Quoted(name), size) for name, size in self.disk.files()
                if fnmatch.fnmatchcase(name, pattern)]
