"""FCM360W module files on the module's real directory: handles, sizes, persistence, and no
way out of the directory."""

from __future__ import annotations

import os

import pytest
from appkit import Lines
from servers import Reply, WebServer


def files_dir(tmp_path):
    return tmp_path / "data" / "files"


def write(lines: Lines, handle: int, data: bytes) -> list[str]:
    assert lines.command(f"AT+QFWRITE={handle},{len(data)}") == ["CONNECT"]
    lines.send(data)
    return [lines.wait(r"\+QFWRITE:"), lines.wait("OK|ERROR")]


def test_write_read_list_and_reuse_handles(modem, tmp_path) -> None:
    lines = Lines(modem("fcm360w"))
    assert lines.command('AT+QFOPEN="notes.txt"') == ["+QFOPEN: 1", "OK"]
    assert lines.command('AT+QFOPEN="UFS:second.bin",1') == ["+QFOPEN: 2", "OK"]
    assert write(lines, 1, b"hello\r\nworld\x1a\x1b") == ["+QFWRITE: 14,14", "OK"]
    assert lines.command("AT+QFCLOSE=1") == ["OK"]
    assert (files_dir(tmp_path) / "notes.txt").read_bytes() == b"hello\r\nworld\x1a\x1b"
    assert lines.command('AT+QFOPEN="notes.txt",2') == ["+QFOPEN: 1", "OK"]  # lowest free
    assert lines.command("AT+QFOPEN?") == ['+QFOPEN: "notes.txt",1,2',
                                           '+QFOPEN: "second.bin",2,1', "OK"]
    lines.port.write(b"AT+QFREAD=1,5\r")
    assert lines.port.expect(b"OK\r\n") == b"\r\nCONNECT 5\r\nhello\r\n\r\nOK\r\n"
    assert lines.command("AT+QFWRITE=1,1") == ["ERROR"]  # opened read-only
    assert lines.command("AT+QFLST") == ['+QFLST: "notes.txt",14', '+QFLST: "second.bin",0',
                                         "OK"]
    assert lines.command('AT+QFLST="UFS:*.bin"') == ['+QFLST: "second.bin",0', "OK"]
    assert lines.command("AT+QFCLOSE=7") == ["ERROR"]
    assert lines.command('AT+QFOPEN="missing.txt",2') == ["ERROR"]


def test_write_times_out_with_what_came(modem) -> None:
    lines = Lines(modem("fcm360w", time_scale=20.0))
    assert lines.command('AT+QFOPEN="part.bin"') == ["+QFOPEN: 1", "OK"]
    assert lines.command("AT+QFWRITE=1,100,2") == ["CONNECT"]
    lines.send(b"only ten b")
    assert lines.wait(r"\+QFWRITE:") == "+QFWRITE: 10,10"


def test_files_survive_a_restart(sim, tmp_path) -> None:
    first = sim("fcm360w", data_dir=tmp_path / "keep")
    port = first.open()
    port.expect(b"ready\r\n")
    lines = Lines(port)
    assert lines.command('AT+QFOPEN="kept.txt"') == ["+QFOPEN: 1", "OK"]
    write(lines, 1, b"still here")
    port.close()
    first.stop()
    port = sim("fcm360w", data_dir=tmp_path / "keep").open()
    port.expect(b"ready\r\n")
    assert Lines(port).command("AT+QFLST") == ['+QFLST: "kept.txt",10', "OK"]


@pytest.mark.parametrize("name", ["../escape.txt", "/etc/passwd", "a/b", "..", "UFS:../x",
                                  "sub\\x", "link"])
def test_no_name_reaches_outside_the_directory(modem, tmp_path, name: str) -> None:
    directory = files_dir(tmp_path)
    directory.mkdir(parents=True)
    outside = tmp_path / "outside.txt"
    outside.write_text("untouched")
    os.symlink(outside, directory / "link")
    lines = Lines(modem("fcm360w"))
    for mode in (0, 1, 2):
        assert lines.command(f'AT+QFOPEN="{name}",{mode}') == ["ERROR"], (name, mode)
    assert outside.read_text() == "untouched"
    assert not (tmp_path / "data" / "escape.txt").exists()
    assert sorted(os.listdir(directory)) == ["link"]


@pytest.mark.parametrize("name", ["../outside.pem", "{outside}", "link.pem", "UFS:../outside.pem"])
def test_a_certificate_name_cannot_reach_outside_the_directory(modem, pki, tmp_path,
                                                               name: str) -> None:
    """AT+QSSLCFG="cacert" names a module file: a CA the server's certificate verifies with,
    placed outside the directory (or behind a link inside it), is never read, so the
    handshake fails as with a missing file; the same CA inside the directory works."""
    directory = files_dir(tmp_path)
    directory.mkdir(parents=True)
    outside = tmp_path / "data" / "outside.pem"
    outside.write_bytes(pki.ca_pem.read_bytes())
    os.symlink(outside, directory / "link.pem")
    server = WebServer(pki.server_context())
    server.replies["/"] = Reply(200, b"verified")
    lines = Lines(modem("fcm360w"))
    try:
        assert lines.command(f'AT+QHTTPCFG="url","https://127.0.0.1:{server.port}/"') == ["OK"]
        assert lines.command('AT+QSSLCFG="seclevel",1,1') == ["OK"]
        cacert = name.format(outside=outside)
        assert lines.command(f'AT+QSSLCFG="cacert",1,"{cacert}"') == ["OK"]
        assert lines.command("AT+QHTTPGET=30") == ["OK"]
        assert lines.wait(r"\+QHTTPGET:") == "+QHTTPGET: 712"
        assert lines.command('AT+QFOPEN="ca.pem"') == ["+QFOPEN: 1", "OK"]
        assert write(lines, 1, outside.read_bytes())[1] == "OK"
        assert lines.command('AT+QSSLCFG="cacert",1,"ca.pem"') == ["OK"]
        assert lines.command("AT+QHTTPGET=30") == ["OK"]
        assert lines.wait(r"\+QHTTPGET:") == "+QHTTPGET: 0,200,8"
    finally:
        server.close()
    assert outside.read_bytes() == pki.ca_pem.read_bytes()
    assert sorted(os.listdir(directory)) == ["ca.pem", "link.pem"]


def test_storage_size_is_enforced(modem, tmp_path) -> None:
    profile = tmp_path / "small.yaml"
    profile.write_text("extends: fcm360w\nfiles:\n  capacity: 100\n")
    from conftest import BOOT_TAIL

    BOOT_TAIL.setdefault(str(profile), BOOT_TAIL["fcm360w"])
    lines = Lines(modem(str(profile)))
    assert lines.command('AT+QFOPEN="a.bin"') == ["+QFOPEN: 1", "OK"]
    assert write(lines, 1, b"x" * 80) == ["+QFWRITE: 80,80", "OK"]
    assert lines.command("AT+QFWRITE=1,21") == ["ERROR"]  # one byte too many
    assert write(lines, 1, b"y" * 20) == ["+QFWRITE: 20,100", "OK"]
    assert lines.command('AT+QFOPEN="b.bin"') == ["+QFOPEN: 2", "OK"]
    assert lines.command("AT+QFWRITE=2,1") == ["ERROR"]
