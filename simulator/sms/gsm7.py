"""The GSM 7-bit default alphabet (3GPP TS 23.038 6.2.1) with its extension table, and the
septet packing of TS 23.040 9.2.3.24 (LSB first, with fill bits after a user data header).
"""

from __future__ import annotations

ESCAPE = 0x1B  # the next septet is read in the extension table

# code point -> character, 0x00..0x7F; 0x1B is the escape and has no character of its own
DEFAULT = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION = {
    0x0A: "\f", 0x14: "^", 0x28: "{", 0x29: "}", 0x2F: "\\",
    0x3C: "[", 0x3D: "~", 0x3E: "]", 0x40: "|", 0x65: "€",
}

_CODE = {char: code for code, char in enumerate(DEFAULT) if code != ESCAPE}
_EXT_CODE = {char: code for code, char in EXTENSION.items()}


def encodable(text: str) -> bool:
    """True when every character has a place in the default or extension table."""
    return all(c in _CODE or c in _EXT_CODE for c in text)


def encode(text: str, replace: str | None = None) -> list[int]:
    """Characters to septets (an extension character takes two).

    A character outside both tables raises ValueError, or becomes `replace` when given.
    """
    septets: list[int] = []
    for char in text:
        if char in _CODE:
            septets.append(_CODE[char])
        elif char in _EXT_CODE:
            septets += (ESCAPE, _EXT_CODE[char])
        elif replace is not None:
            septets += encode(replace)
        else:
            raise ValueError(f"{char!r} is not in the GSM 7-bit alphabet")
    return septets


def decode(septets: list[int] | bytes) -> str:
    """Septets to characters; an unknown extension code shows its default-table character,
    as TS 23.038 asks of a receiver."""
    out: list[str] = []
    escaped = False
    for septet in septets:
        septet &= 0x7F
        if escaped:
            out.append(EXTENSION.get(septet, DEFAULT[septet] if septet != ESCAPE else " "))
            escaped = False
        elif septet == ESCAPE:
            escaped = True
        else:
            out.append(DEFAULT[septet])
    return "".join(out)


def septet_count(text: str) -> int:
    return len(encode(text))


def pack(septets: list[int], fill_bits: int = 0) -> bytes:
    """Pack septets LSB first; `fill_bits` zero bits come first (after a user data header)."""
    out = bytearray()
    acc, bits = 0, fill_bits
    for septet in septets:
        acc |= (septet & 0x7F) << bits
        bits += 7
        while bits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            bits -= 8
    if bits and septets:
        out.append(acc & 0xFF)
    return bytes(out)


def unpack(data: bytes, count: int, fill_bits: int = 0) -> list[int]:
    """The first `count` septets of `data`, skipping `fill_bits` leading bits."""
    if fill_bits + 7 * count > 8 * len(data):
        raise ValueError(f"{count} septets do not fit in {len(data)} octets")
    value = int.from_bytes(data, "little") >> fill_bits
    return [(value >> (7 * i)) & 0x7F for i in range(count)]
