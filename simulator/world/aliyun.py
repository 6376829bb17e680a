"""Alibaba Cloud IoT device credentials ("one device, one secret"), derived the way Alibaba's
device SDK signs an MQTT CONNECT: the sign content is the parameter names and values
concatenated in name order (clientId, deviceName, productKey, timestamp), the password its
HMAC keyed with the device secret in hex, the client ID carries the parameters after `|`,
and the user name is `deviceName&productKey`.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

_DIGESTS = {"hmacsha1": hashlib.sha1, "hmacsha256": hashlib.sha256, "hmacmd5": hashlib.md5}


@dataclass(frozen=True)
class Credentials:
    client_id: str
    username: str
    password: str


def sign(product_key: str, device_name: str, device_secret: str, client_id: str,
         timestamp: str, method: str = "hmacsha256", securemode: int = 3) -> Credentials:
    """`securemode` 3 is MQTT over plain TCP, 2 over TLS."""
    params = {"clientId": client_id, "deviceName": device_name, "productKey": product_key}
    if timestamp:
        params["timestamp"] = timestamp
    content = "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(device_secret.encode(), content.encode(), _DIGESTS[method]).hexdigest()
    extra = f"securemode={securemode},signmethod={method}"
    if timestamp:
        extra += f",timestamp={timestamp}"
    return Credentials(f"{client_id}|{extra}|", f"{device_name}&{product_key}", digest)
