"""The family grammars, table-driven: what each command line parses into."""

from __future__ import annotations

import pytest

from simulator.at.command import Bare, Command, Kind
from simulator.at.parser import parse

W, R, T, X = Kind.WRITE, Kind.READ, Kind.TEST, Kind.EXEC


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("", []),
        ("+CSQ", [Command("+CSQ", X)]),
        ("+cpin?", [Command("+CPIN", R)]),
        ("+CGSN=?", [Command("+CGSN", T)]),
        ("+QSClk=1", [Command("+QSCLK", W, (Bare("1"),))]),
        ("E0V1", [Command("E", W, (0,)), Command("V", W, (1,))]),
        ("E", [Command("E", X)]),
        ("I", [Command("I", X)]),
        (" S7=45 S0=0 L1 &c1", [Command("S7", W, (45,)), Command("S0", W, (0,)),
                                Command("L", W, (1,)), Command("&C", W, (1,))]),
        ("S3?", [Command("S3", R)]),
        ("S0=", [Command("S0", W, (0,))]),
        ("&W", [Command("&W", X)]),
        ("+CMEE=1;+CREG=2", [Command("+CMEE", W, (Bare("1"),)), Command("+CREG", W, (Bare("2"),))]),
        ("E0;+CMEE=1;", [Command("E", W, (0,)), Command("+CMEE", W, (Bare("1"),))]),
        ("E0+CSQ", [Command("E", W, (0,)), Command("+CSQ", X)]),
        ('+CPSMS=1,,,"01000010","00000000"',
         [Command("+CPSMS", W, (Bare("1"), None, None, "01000010", "00000000"))]),
        ('+QIOPEN=1,0,"TCP", "220.180.239.212",8009,0,2',
         [Command("+QIOPEN", W, (Bare("1"), Bare("0"), "TCP", "220.180.239.212", Bare("8009"),
                                 Bare("0"), Bare("2")))]),
        ('+QICFG="ciphersuite",0xFFFF', [Command("+QICFG", W, ("ciphersuite", Bare("0xFFFF")))]),
        ('+X="a;b,c"', [Command("+X", W, ("a;b,c",))]),
        ("D*99#", [Command("D", W, (Bare("*99#"),))]),
        ("$MYNET=a b", [Command("$MYNET", W, (Bare("a b"),))]),
    ],
)
def test_parse(body: str, expected: list[Command]) -> None:
    assert parse("ec200t", body) == expected


@pytest.mark.parametrize("body", ['+X="open', "+", "+=1", "E0 +", "S", '"x"', "+X,1"])
def test_syntax_errors(body: str) -> None:
    with pytest.raises(SyntaxError):
        parse("ec200t", body)


@pytest.mark.parametrize("grammar", ["bc660k", "ec200t", "m66", "n11v2", "fcm360w"])
def test_every_family_grammar_builds(grammar: str) -> None:
    assert parse(grammar, "+CGMI;E0") == [Command("+CGMI", X), Command("E", W, (0,))]


def test_command_prints_as_typed() -> None:
    (cmd,) = parse("ec200t", '+QIOPEN=1,0,"TCP",,8009')
    assert str(cmd) == '+QIOPEN=1,0,"TCP",,8009'
