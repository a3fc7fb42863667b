"""The PDF layout server: left by one build, used by the next, and never needed or trusted."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

from topicgen.errors import TopicgenError
from topicgen.publish import pdf, pdf_server
from topicgen.publish.pdf import Layout, html_to_pdf
from topicgen.results.cache import ResultCache

PAGE = ("<!DOCTYPE html><html><head><style>@page { size: A6 }</style></head><body>"
        "<p>{text}</p></body></html>")


def page(text: str) -> str:
    return PAGE.replace("{text}", text)


@pytest.fixture
def runtime(monkeypatch):
    """The server on, with its socket in a fresh private folder (short: a socket's path must
    stay under 100 characters); every server started meanwhile is stopped afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="tg-", dir="/tmp"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    monkeypatch.setenv("TOPICGEN_PDF_SERVER", "60")
    yield folder
    for pid_file in folder.glob("topicgen-*/*.pid"):
        try:
            pid = int(pid_file.read_text())
            if pid != os.getpid():  # not a server this test ran in a thread
                os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            pass
    shutil.rmtree(folder, ignore_errors=True)


def wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def counting_local_layouts(monkeypatch) -> list[str]:
    """The HTML of every part this process lays out itself from now on."""
    calls: list[str] = []
    real = pdf.render_part

    def counting(html, root, cache=None):
        calls.append(html)
        return real(html, root, cache)

    monkeypatch.setattr(pdf, "render_part", counting)
    return calls


def test_a_build_leaves_a_server_and_the_next_build_gets_the_same_bytes_from_it(
        runtime, tmp_path, monkeypatch):
    cache = ResultCache(tmp_path / "cache")
    assert pdf_server.connect() is None
    with Layout(jobs=1) as layout:
        first = html_to_pdf(page("First text."), tmp_path, cache, layout)
    wait_for(pdf_server.running)
    folder = pdf_server.address().parent
    assert folder.stat().st_mode & 0o777 == 0o700
    assert not list(folder.glob("*.json"))  # the sample it warmed up on is gone

    calls = counting_local_layouts(monkeypatch)
    with Layout(jobs=1) as layout:
        edited = html_to_pdf(page("Edited text."), tmp_path, cache, layout)
    assert calls == []  # the server laid the changed part out
    monkeypatch.setenv("TOPICGEN_PDF_SERVER", "off")
    assert html_to_pdf(page("Edited text."), tmp_path, None) == edited
    assert html_to_pdf(page("First text."), tmp_path, None) == first


def test_a_build_holds_the_server_only_while_it_lays_out(runtime, tmp_path, monkeypatch):
    with Layout(jobs=1) as layout:
        html_to_pdf(page("Start a server."), tmp_path, None, layout)
    wait_for(pdf_server.running)
    calls = counting_local_layouts(monkeypatch)
    made = []
    with Layout(jobs=2) as long_build:  # say, running its experiments now
        long_build.warm()
        other = threading.Thread(target=lambda: made.append(
            html_to_pdf(page("Another build."), tmp_path, None, Layout(jobs=1))))
        other.start()
        other.join(timeout=60)
        assert made and calls == []  # laid out by the server, not kept waiting


def test_the_server_exits_when_idle_and_removes_its_socket(runtime, monkeypatch):
    monkeypatch.setenv("TOPICGEN_PDF_SERVER", "1")
    pdf_server.start()
    path = pdf_server.address()
    wait_for(path.exists)
    wait_for(lambda: not path.exists(), seconds=30)
    assert pdf_server.connect() is None


def test_only_one_server_runs_for_one_code(runtime):
    path = pdf_server.address()
    holder = threading.Thread(target=pdf_server.serve, args=(path, 2.0), daemon=True)
    holder.start()
    wait_for(path.exists)
    started = time.monotonic()
    pdf_server.serve(path, 30.0)  # finds the lock taken and returns at once
    assert time.monotonic() - started < 1
    holder.join()


def test_a_lost_server_means_the_build_lays_the_part_out_itself(runtime, tmp_path,
                                                                 monkeypatch):
    path = pdf_server.address()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as impostor:
        impostor.bind(str(path))
        impostor.listen()

        def hang_up():
            connection, _ = impostor.accept()
            pdf_server.receive(connection)
            connection.close()

        threading.Thread(target=hang_up, daemon=True).start()
        calls = counting_local_layouts(monkeypatch)
        monkeypatch.setattr(pdf_server, "start", lambda sample=None: None)
        with Layout(jobs=1) as layout:
            made = html_to_pdf(page("Some text."), tmp_path, None, layout)
            assert layout.server_lost
    assert len(calls) >= 1 and "Some text." in calls[0]
    monkeypatch.setenv("TOPICGEN_PDF_SERVER", "off")
    assert html_to_pdf(page("Some text."), tmp_path, None) == made


def answered(request: bytes, monkeypatch=None) -> tuple[bytes, bytes]:
    """What the server's request handler replies to one request."""
    here, there = socket.socketpair()
    with here, there:
        pdf_server.send(here, b"R", request)
        here.shutdown(socket.SHUT_WR)
        assert pdf_server.answer(there) == 1
        return pdf_server.receive(here)


def test_a_failed_layout_comes_back_as_its_one_line_error(monkeypatch, tmp_path):
    def failing(html, root, cache=None):
        raise TopicgenError("PDF rendering failed: no such font")

    monkeypatch.setattr(pdf, "render_part", failing)
    request = {"html": page("x"), "root": str(tmp_path), "cache": None, "force": False}
    kind, data = answered(json.dumps(request).encode())
    assert (kind, data) == (pdf_server.FAILED, b"PDF rendering failed: no such font")

    here, there = socket.socketpair()
    with here, there:
        pdf_server.send(there, kind, data)
        with pytest.raises(TopicgenError, match="^PDF rendering failed: no such font$"):
            pdf_server.lay_out(here, page("x"), tmp_path, None)


def test_an_unexpected_error_in_the_server_is_not_the_builds_error(tmp_path):
    kind, data = answered(b"{not json")
    assert kind == pdf_server.BROKEN and data.startswith(b"JSONDecodeError")
    here, there = socket.socketpair()
    with here, there:
        pdf_server.send(there, kind, data)
        with pytest.raises(pdf_server.ServerGone):
            pdf_server.lay_out(here, page("x"), tmp_path, None)


def test_no_server_where_it_is_off_or_its_folder_is_not_private(runtime, monkeypatch):
    folder = pdf_server.address().parent
    folder.chmod(0o755)
    assert pdf_server.address() is None
    folder.chmod(0o700)
    assert pdf_server.address() is not None
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime / ("x" * 90)))
    assert pdf_server.address() is None  # too long for a socket's address
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("TOPICGEN_PDF_SERVER", "off")
    assert pdf_server.connect() is None
    pdf_server.start()
    assert not list(folder.iterdir())
