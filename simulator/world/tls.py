"""TLS as a module's SSL context asks for it, made with the host's OpenSSL (stdlib ssl).

Quectel contexts name a protocol version, one cipher suite (by its IANA number) or all of
them, a security level (0 none, 1 server authentication, 2 mutual) and certificate files.
Handshake failures come back as `TlsError` with a reason the AT layer maps to its codes.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

ALL_SUITES = 0xFFFF
NO_CHECK_TIME = 0x200000  # X509_V_FLAG_NO_CHECK_TIME: the module ignores certificate dates

# IANA cipher-suite numbers (as AT+QSSLCFG="ciphersuite" takes them) -> OpenSSL names
SUITES: dict[int, str] = {
    0x0005: "RC4-SHA", 0x000A: "DES-CBC3-SHA", 0x002F: "AES128-SHA", 0x0035: "AES256-SHA",
    0x003C: "AES128-SHA256", 0x003D: "AES256-SHA256", 0x009C: "AES128-GCM-SHA256",
    0x009D: "AES256-GCM-SHA384", 0xC003: "ECDH-ECDSA-DES-CBC3-SHA",
    0xC004: "ECDH-ECDSA-AES128-SHA", 0xC005: "ECDH-ECDSA-AES256-SHA",
    0xC008: "ECDHE-ECDSA-DES-CBC3-SHA", 0xC009: "ECDHE-ECDSA-AES128-SHA",
    0xC00A: "ECDHE-ECDSA-AES256-SHA", 0xC00D: "ECDH-RSA-DES-CBC3-SHA",
    0xC00E: "ECDH-RSA-AES128-SHA", 0xC00F: "ECDH-RSA-AES256-SHA", 0xC011: "ECDHE-RSA-RC4-SHA",
    0xC012: "ECDHE-RSA-DES-CBC3-SHA", 0xC013: "ECDHE-RSA-AES128-SHA",
    0xC014: "ECDHE-RSA-AES256-SHA", 0xC023: "ECDHE-ECDSA-AES128-SHA256",
    0xC024: "ECDHE-ECDSA-AES256-SHA384", 0xC025: "ECDH-ECDSA-AES128-SHA256",
    0xC026: "ECDH-ECDSA-AES256-SHA384", 0xC027: "ECDHE-RSA-AES128-SHA256",
    0xC028: "ECDHE-RSA-AES256-SHA384", 0xC029: "ECDH-RSA-AES128-SHA256",
    0xC02A: "ECDH-RSA-AES256-SHA384", 0xC02B: "ECDHE-ECDSA-AES128-GCM-SHA256",
    0xC02C: "ECDHE-ECDSA-AES256-GCM-SHA384", 0xC02F: "ECDHE-RSA-AES128-GCM-SHA256",
    0xC030: "ECDHE-RSA-AES256-GCM-SHA384",
}

# AT+QSSLCFG="sslversion": 0 SSL 3.0 (gone from OpenSSL: the nearest, TLS 1.0), 1 TLS 1.0,
# 2 TLS 1.1, 3 TLS 1.2, 4 all that the module speaks
_VERSIONS = {0: ssl.TLSVersion.TLSv1, 1: ssl.TLSVersion.TLSv1, 2: ssl.TLSVersion.TLSv1_1,
             3: ssl.TLSVersion.TLSv1_2}
_CEILINGS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


class TlsError(Exception):
    """`reason`: "config" (bad or missing certificate), "handshake", "verify", "timeout"."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class TlsSettings:
    version: int = 4
    suite: int = ALL_SUITES
    seclevel: int = 0
    ignore_time: bool = True
    sni: bool = False
    cacert: Path | None = None
    clientcert: Path | None = None
    clientkey: Path | None = None
    ceiling: str = "1.2"  # the newest version the module's TLS stack speaks
    trust_without_ca: bool = False  # seclevel >= 1 with no CA named: skip verification


def client_context(s: TlsSettings) -> ssl.SSLContext:
    """An SSLContext doing what the module's context says; TlsError("config") if it cannot."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    legacy = s.version in _VERSIONS and _VERSIONS[s.version] < ssl.TLSVersion.TLSv1_2
    ctx.minimum_version = _VERSIONS.get(s.version, ssl.TLSVersion.TLSv1)
    ctx.maximum_version = _VERSIONS[s.version] if s.version in _VERSIONS else \
        _CEILINGS.get(s.ceiling, ssl.TLSVersion.TLSv1_2)
    ciphers = "DEFAULT"
    if s.suite != ALL_SUITES:
        ciphers = SUITES.get(s.suite, "DEFAULT")
        if ctx.maximum_version > ssl.TLSVersion.TLSv1_2:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # one named suite is a TLS 1.2 one
    try:
        # old versions and suites need OpenSSL's level 0, as an embedded stack allows them
        ctx.set_ciphers(f"{ciphers}:@SECLEVEL=0" if legacy or s.suite != ALL_SUITES else ciphers)
    except ssl.SSLError:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # this OpenSSL lacks the suite: offer the rest
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if s.seclevel >= 1 and not (s.cacert is None and s.trust_without_ca):
        if s.cacert is None:
            raise TlsError("config", "no CA certificate")
        try:
            ctx.load_verify_locations(cafile=str(s.cacert))
        except (OSError, ssl.SSLError) as exc:
            raise TlsError("config", f"CA certificate: {exc}") from None
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.check_hostname = s.sni  # the name a module checks is the one it sends
        if s.ignore_time:
            ctx.verify_flags |= NO_CHECK_TIME
    if s.seclevel >= 2 and s.clientcert is not None:
        try:
            ctx.load_cert_chain(str(s.clientcert), str(s.clientkey) if s.clientkey else None)
        except (OSError, ssl.SSLError) as exc:
            raise TlsError("config", f"client certificate: {exc}") from None
    return ctx


def server_name(s: TlsSettings, host: str) -> str | None:
    """The name the module sends and checks (Python sends no SNI for an IP literal)."""
    return host if s.sni else None
