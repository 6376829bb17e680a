"""The module's file system: a real directory on the host, under the module's data directory,
so files survive runs and simulated reboots.

Every name the host gives goes through `path()`: a plain file name, no directories, no `..`,
no absolute path, and files are opened with O_NOFOLLOW relative to the directory, so no
command can touch anything outside it (a symbolic link planted inside is refused too).
The module's storage size is enforced on every write.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path


class DiskError(Exception):
    """`reason`: "name" (bad or escaping name), "missing", "full", "io"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Disk:
    def __init__(self, root: Path, capacity: int, name_limit: int = 80, prefix: str = ""):
        self.root = root
        self.capacity = capacity
        self.name_limit = name_limit
        self.prefix = prefix  # a drive prefix the family writes before names ("UFS:")

    def name(self, text: str) -> str:
        """The file name a command gave, checked: DiskError("name") if it could escape."""
        if self.prefix and text.upper().startswith(self.prefix.upper()):
            text = text[len(self.prefix):]
        bad = (not text or len(text.encode()) > self.name_limit or text in (".", "..")
               or any(c in text for c in "/\\\0") or text != text.strip())
        if bad:
            raise DiskError("name")
        return text

    def _dir_fd(self) -> int:
        self.root.mkdir(parents=True, exist_ok=True)
        return os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)

    def open(self, text: str, create: bool, truncate: bool = False, write: bool = True) -> int:
        """An OS file descriptor for a module file; the caller closes it."""
        name = self.name(text)
        flags = (os.O_RDWR if write else os.O_RDONLY) | os.O_NOFOLLOW
        flags |= os.O_CREAT if create else 0
        flags |= os.O_TRUNC if truncate else 0
        dir_fd = self._dir_fd()
        try:
            fd = os.open(name, flags, 0o644, dir_fd=dir_fd)
        except FileNotFoundError:
            raise DiskError("missing") from None
        except OSError as exc:  # ELOOP: a symbolic link; EISDIR; permissions
            raise DiskError("name" if exc.errno in (errno.ELOOP, errno.EISDIR) else "io") from None
        finally:
            os.close(dir_fd)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise DiskError("name")
        return fd

    def path(self, text: str) -> Path:
        """The host path of an existing module file (for TLS, which loads certificates by
        path); DiskError if the name escapes, names a link, or the file does not exist."""
        os.close(self.open(text, create=False, write=False))
        return self.root / self.name(text)

    def read(self, text: str) -> bytes:
        fd = self.open(text, create=False, write=False)
        with os.fdopen(fd, "rb") as f:
            return f.read()

    def save(self, text: str, data: bytes) -> None:
        """Replace a whole file (a certificate upload), within the storage size."""
        name = self.name(text)
        old = self.size(name)
        if self.used() - old + len(data) > self.capacity:
            raise DiskError("full")
        fd = self.open(name, create=True, truncate=True)
        with os.fdopen(fd, "wb") as f:
            f.write(data)

    def size(self, text: str) -> int:
        """A file's size, 0 when it does not exist."""
        try:
            fd = self.open(text, create=False, write=False)
        except DiskError as exc:
            if exc.reason == "missing":
                return 0
            raise
        try:
            return os.fstat(fd).st_size
        finally:
            os.close(fd)

    def files(self) -> Iterator[tuple[str, int]]:
        """(name, size) of every regular file, sorted by name."""
        if not self.root.is_dir():
            return
        for entry in sorted(os.scandir(self.root), key=lambda e: e.name):
            if entry.is_file(follow_symlinks=False):
                yield entry.name, entry.stat(follow_symlinks=False).st_size

    def used(self) -> int:
        return sum(size for _, size in self.files())

    def free(self) -> int:
        return max(0, self.capacity - self.used())
