"""SSL contexts (AT+QSSLCFG): per context the TLS version, cipher suite, security level,
certificates and the other keys a family lists, turned into a real TLS client
(simulator.world.tls) for MQTT, HTTPS and SSL sockets.

Two spellings, chosen by `ssl.syntax`:
- "key_first" (FCM360W, EC200): AT+QSSLCFG="<key>",<ctx>[,<value>...]; certificates are
  module files named by "cacert"/"clientcert"/"clientkey".
- "context_first" (BC660K): AT+QSSLCFG=<ctx>,<connect_id>,"<key>"[,<value>...]; the
  certificate keys open a `>` prompt for the PEM text (Ctrl-Z ends it, or a given length),
  which is stored in the module's file system; AT+QSSLCFG=<ctx>,<connect_id> reads all.
"""

from __future__ import annotations

from typing import Any

from simulator.at.command import Arg
from simulator.at.dispatcher import TEST, WRITE, command
from simulator.at.errors import AtError
from simulator.at.replies import Info, Prompt, Quoted, Replies
from simulator.subsystems.base import Subsystem
from simulator.subsystems.files import ModuleFiles
from simulator.subsystems.keyed import KEY_SCHEMA, KeyTable, to_int, to_str
from simulator.world.disk import DiskError
from simulator.world.tls import TlsError, TlsSettings

CERT_KEYS = ("cacert", "clientcert", "clientkey")


class SslContexts(Subsystem):
    name = "ssl"
    section = "ssl"
    schema: Any = {
        "syntax": str,  # "key_first" | "context_first"
        "contexts": int,
        "connect_ids": int,  # context_first: connect IDs per context
        "keys": KEY_SCHEMA,
        "read_all": [str],  # context_first: the keys AT+QSSLCFG=<ctx>,<id> lists, in order
        "test": [str],  # the test response, verbatim
        "no_ca": str,  # seclevel >= 1 without a CA: "trust" (skip verification) or "fail"
        "tls_ceiling": str,  # newest TLS version the module's stack speaks: "1.2" | "1.3"
        "upload_timeout": int,  # seconds the certificate prompt waits
    }

    def __init__(self, module: Any):
        super().__init__(module)
        self.tables: dict[tuple[int, int], KeyTable] = {}

    @property
    def files(self) -> ModuleFiles:
        return self.m.get(ModuleFiles)

    @property
    def context_first(self) -> bool:
        return self.config.get("syntax", "key_first") == "context_first"

    def reset(self) -> None:
        self.tables = {}  # the configuration is not saved; certificate files are

    def table(self, ctx: int, connect_id: int = 0) -> KeyTable:
        if not 0 <= ctx < self.config.get("contexts", 6) or \
                not 0 <= connect_id < self.config.get("connect_ids", 1):
            raise AtError("invalid_param")
        key = (ctx, connect_id)
        if key not in self.tables:
            specs = dict(self.config.get("keys", {}))
            if not self.context_first:
                specs.update({k: {"values": [""]} for k in CERT_KEYS})
            self.tables[key] = KeyTable(specs)
        return self.tables[key]

    def snapshot(self) -> dict[str, Any]:
        return {f"{c},{i}": t.values for (c, i), t in sorted(self.tables.items())}

    # -- AT+QSSLCFG --------------------------------------------------------------------------
    @command("+QSSLCFG", TEST)
    def qsslcfg_test(self) -> Replies:
        return [Info.text(line) for line in self.config.get("test", [])]

    @command("+QSSLCFG", WRITE)
    def qsslcfg(self, *args: Arg) -> Replies:
        if self.context_first:
            if len(args) < 2:
                raise AtError("invalid_param")
            ctx, connect_id = to_int(args[0]), to_int(args[1])
            table = self.table(ctx, connect_id)
            if len(args) == 2:
                return self._read_all(ctx, connect_id, table)
            key, values, head = to_str(args[2]).lower(), list(args[3:]), (ctx, connect_id)
            if key in CERT_KEYS:
                return self._upload(ctx, connect_id, key, values)
        else:
            if len(args) < 2:
                raise AtError("invalid_param")
            key, ctx = to_str(args[0]).lower(), to_int(args[1])
            table, values, head = self.table(ctx), list(args[2:]), (ctx,)
        if not table.knows(key):
            raise AtError("invalid_param")
        if not values:
            return Info.of("+QSSLCFG", *self._head(key, head), *self._shown(table, key))
        table.set(key, values)
        return None

    def _head(self, key: str, head: tuple[int, ...]) -> tuple[Any, ...]:
        return (*head, Quoted(key)) if self.context_first else (Quoted(key), *head)

    def _shown(self, table: KeyTable, key: str) -> list[Any]:
        values = table.get(key)
        if key == "ciphersuite":
            return [f"0x{values[0]:04X}"]
        return [Quoted(v) if isinstance(v, str) else v for v in values]

    def _read_all(self, ctx: int, connect_id: int, table: KeyTable) -> Replies:
        lines = []
        for key in self.config.get("read_all", []):
            if key in CERT_KEYS:
                shown = [self._cert_size(ctx, connect_id, key)]
            else:
                shown = self._shown(table, key)
            lines.append(Info.of("+QSSLCFG", ctx, connect_id, Quoted(key), *shown))
        return lines

    # -- certificates ---------------------------------------------------------------------------
    @staticmethod
    def _cert_name(ctx: int, connect_id: int, kind: str) -> str:
        return f"ssl{ctx}_{connect_id}_{kind}.pem"

    def _cert_size(self, ctx: int, connect_id: int, kind: str) -> int:
        return self.files.disk.size(self._cert_name(ctx, connect_id, kind))

    def _upload(self, ctx: int, connect_id: int, kind: str, values: list[Arg]) -> Replies:
        length = to_int(values[0]) if values and values[0] is not None else None
        if length is not None and not 0 < length <= self.files.disk.capacity:
            raise AtError("invalid_param")

        def store(data: bytes) -> Replies:
            try:
                self.files.disk.save(self._cert_name(ctx, connect_id, kind), data)
            except DiskError as exc:
                raise self.files.error(exc.reason) from None
            return Info.of("+QSSLCFG", ctx, connect_id, Quoted(kind), len(data))

        return Prompt(store, length=length, timeout=self.config.get("upload_timeout", 90))

    def _cert_path(self, ctx: int, connect_id: int, kind: str, table: KeyTable) -> Any:
        disk = self.files.disk
        if self.context_first:
            name = self._cert_name(ctx, connect_id, kind)
            return disk.path(name) if disk.size(name) else None
        named = table.first(kind)
        if not named:
            return None
        try:
            return disk.path(named)
        except DiskError as exc:
            raise TlsError("config", f"{kind} {named!r}: {exc.reason}") from None

    # -- what MQTT, HTTP and SSL sockets use ------------------------------------------------------
    def settings(self, ctx: int, connect_id: int = 0) -> TlsSettings:
        """The TLS client a context describes; TlsError("config") when a file is unusable."""
        try:
            table = self.table(ctx, connect_id)
        except AtError:
            raise TlsError("config", f"no SSL context {ctx}") from None
        value = {k: table.first(k) for k in table.specs if k not in CERT_KEYS}
        return TlsSettings(
            version=value.get("sslversion", 4),
            suite=value.get("ciphersuite", 0xFFFF),
            seclevel=value.get("seclevel", 0),
            ignore_time=bool(value.get("ignorelocaltime", 1)),
            sni=bool(value.get("sni", 0)),
            cacert=self._cert_path(ctx, connect_id, "cacert", table),
            clientcert=self._cert_path(ctx, connect_id, "clientcert", table),
            clientkey=self._cert_path(ctx, connect_id, "clientkey", table),
            ceiling=self.config.get("tls_ceiling", "1.2"),
            trust_without_ca=self.config.get("no_ca", "fail") == "trust",
        )

    def handshake_time(self, ctx: int, connect_id: int = 0) -> float:
        """Module seconds a TLS negotiation may take ("negotiatetime" or "timeout")."""
        table = self.table(ctx, connect_id)
        for key in ("negotiatetime", "timeout"):
            if table.knows(key):
                return float(table.first(key))
        return 300.0
