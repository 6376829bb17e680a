"""Lark glue: one LALR parser per family grammar, built once and cached on disk.

Parsing never touches module state; a line that does not parse raises SyntaxError, which the
dispatcher turns into the family's error reply.
"""

from __future__ import annotations

import hashlib
from functools import cache, lru_cache
from pathlib import Path

from lark import Lark, Token, Tree
from lark.exceptions import LarkError

from simulator.at.command import Arg, Bare, Command, Kind, Raw
from simulator.resources import grammar_dir, user_cache_dir

_KINDS = {"test": Kind.TEST, "read": Kind.READ, "write": Kind.WRITE, "exec": Kind.EXEC}


@cache
def parser_for(grammar: str) -> Lark:
    path = grammar_dir() / f"{grammar}.lark"
    if not path.is_file():
        raise FileNotFoundError(f"no grammar {path}")
    cache_file = user_cache_dir() / f"grammar-{grammar}-{_fingerprint(path)}.lark-cache"
    return Lark.open(
        str(path), parser="lalr", maybe_placeholders=True, cache=str(cache_file)
    )


def _fingerprint(path: Path) -> str:
    """Changes when any grammar file changes, so a stale cache is never used."""
    digest = hashlib.sha1()
    for file in sorted(path.parent.glob("*.lark")):
        digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


def parse(grammar: str, body: str) -> list[Command]:
    """Parse the part of a command line after "AT" into commands, in order."""
    return list(_parse(grammar, body))


@lru_cache(maxsize=512)
def _parse(grammar: str, body: str) -> tuple[Command, ...]:
    # Hosts repeat the same lines (polling AT+CSQ, AT+CEREG?...): commands are immutable, so a
    # line parsed once need not go through the LALR parser again.
    try:
        tree = parser_for(grammar).parse(body)
    except LarkError as exc:
        raise SyntaxError(str(exc)) from None
    return tuple(cmd for item in tree.children if item is not None for cmd in _item(item))


def _rule(tree: Tree) -> str:
    return str(tree.data).rsplit("__", 1)[-1]  # imported rules are namespaced "family__v250__x"


def _item(item: Tree) -> list[Command]:
    return [_command(child) for child in item.children if child is not None]


def _command(node: Tree) -> Command:
    rule = _rule(node)
    tokens = [c for c in node.children if isinstance(c, Token)]
    if rule in _KINDS:
        joint, name = tokens[0], tokens[1].upper()
        params = next((c for c in node.children if isinstance(c, Tree)), None)
        args = tuple(_param(p) for p in params.children) if params is not None else ()
        return Command(joint + name, _KINDS[rule], args)
    text = tokens[0].upper() if tokens else ""
    if rule == "basic":
        letters = text.rstrip("0123456789")
        digits = text[len(letters):]
        if not digits:
            return Command(letters, Kind.EXEC)
        return Command(letters, Kind.WRITE, (int(digits),))
    if rule == "sreg_read":
        return Command(text, Kind.READ)
    if rule == "sreg_write":
        value = node.children[1]
        return Command(text, Kind.WRITE, (int(value) if value is not None else 0,))
    if rule == "sreg_exec":
        return Command(text, Kind.EXEC)
    if rule == "dial":
        return Command("D", Kind.WRITE, (Bare(str(tokens[0])[1:].strip()),))
    raise SyntaxError(f"unexpected rule {rule}")


def _param(param: Tree | Token | None) -> Arg:
    if param is None:
        return None
    if isinstance(param, Token):
        return Raw(param)  # a raw tail (grammars/quectel.lark): taken as typed
    token = str(param.children[0])
    if token.startswith('"'):
        return token[1:-1]
    return Bare(token)  # numbers stay text until a handler's annotation asks for an int
