"""A PDF layout process that outlives one build, so that the next build finds WeasyPrint loaded.

After a prose edit, WeasyPrint lays one chapter out again in about a second; a fresh process
first spent as long again importing WeasyPrint and warming its caches (C declarations,
hyphenation dictionaries, fonts). So a build that laid out PDF parts leaves this server behind:
it lays out parts for later builds, one at a time, and exits once no build has asked for
IDLE_SECONDS. A build that finds none, or loses it midway, lays its parts out itself.

Its socket's name is a hash of the Python, WeasyPrint, pikepdf and topicgen's PDF code, so a
build only ever talks to a server that runs the code it would run itself; a server whose code
changed is never reached again and idles out. The socket lies in a folder only this user may
open ($XDG_RUNTIME_DIR, else the temporary folder, then topicgen-<uid>), beside a .pid file
naming the server's process. TOPICGEN_PDF_SERVER=off turns the server off; a number sets the
idle seconds.

    python -m topicgen.publish.pdf_server SOCKET IDLE_SECONDS [SAMPLE.json]
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from topicgen import sources
from topicgen.errors import TopicgenError

if TYPE_CHECKING:
    from topicgen.publish.pdf import Part
    from topicgen.results.cache import ResultCache

log = logging.getLogger(__name__)
IDLE_SECONDS = 600.0
REPLY_SECONDS = 300.0
"""How long a build waits for one part before it lays the part out itself (a server that
hangs must not hang the build)."""
MAX_PARTS = 500
"""Parts one server lays out before it exits, so that whatever WeasyPrint keeps cannot grow
without end."""
HEADER = struct.Struct(">cQ")
"""A message: one byte saying what it is, the length of what follows, then that many bytes."""
PART, FAILED, BROKEN = b"P", b"F", b"B"
"""Replies: a Part; a TopicgenError's message; an unexpected error (the build then lays the
part out itself, where --debug can show the traceback)."""


class ServerGone(Exception):
    """The server closed the connection or answered something unreadable."""


def setting() -> str:
    return os.environ.get("TOPICGEN_PDF_SERVER", "on").strip().lower()


def enabled() -> bool:
    """Off where asked, and where there are no Unix sockets or user ids (Windows)."""
    return setting() not in ("off", "0", "no", "false") and hasattr(socket, "AF_UNIX") \
        and hasattr(os, "getuid")


def idle_seconds() -> float:
    try:
        return float(setting())
    except ValueError:
        return IDLE_SECONDS


def address() -> Path | None:
    """Where the server for this Python and this code listens; None where no safe place is."""
    folder = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()) / \
        f"topicgen-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        status = folder.stat()
    except OSError:
        return None
    if status.st_uid != os.getuid() or status.st_mode & 0o077:
        return None  # someone else could reach (or replace) the socket
    path = folder / f"pdf-{identity()}.sock"
    return path if len(str(path)) < 100 else None  # longer paths do not fit a socket address


def identity() -> str:
    return sources.digest([sys.executable, sys.version, sources.version("weasyprint"),
                           sources.version("pikepdf"),
                           sources.file_hashes("topicgen.publish.pdf")])[:16]


def connect() -> socket.socket | None:
    """A connection to a running server, or None."""
    path = address() if enabled() else None
    if path is None:
        return None
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(str(path))
    except OSError:
        connection.close()
        return None
    connection.settimeout(REPLY_SECONDS)
    return connection


def running() -> bool:
    connection = connect()
    if connection is not None:
        connection.close()
    return connection is not None


def start(sample: bytes | None = None) -> None:
    """Start a server in the background, detached from this build and its terminal. Before
    it listens, it lays `sample` (a request, see request()) out twice: a process's first
    layouts are the slow ones (see warm_up)."""
    path = address() if enabled() else None
    if path is None:
        return
    arguments = [str(path), str(idle_seconds())]
    try:
        if sample is not None:
            with tempfile.NamedTemporaryFile(suffix=".json", dir=path.parent,
                                             delete=False) as file:
                file.write(sample)
            arguments.append(file.name)
        subprocess.Popen([sys.executable, "-m", "topicgen.publish.pdf_server", *arguments],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True, cwd="/")
    except OSError as error:  # the build itself succeeded: it must not fail for this
        log.debug("could not start a PDF layout server: %s", error)
        return
    log.debug("started a PDF layout server at %s", path)


def lay_out(connection: socket.socket, html: str, root: Path, cache: ResultCache | None
            ) -> Part:
    """One part, laid out by the server at the other end of `connection`."""
    from topicgen.publish.pdf import Part

    try:
        send(connection, b"R", request(html, root, cache))
        kind, data = receive(connection)
        if kind == PART:
            return Part.from_bytes(data)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ServerGone(str(error)) from None
    if kind == FAILED:
        raise TopicgenError(data.decode("utf-8"))
    raise ServerGone(data.decode("utf-8", "replace"))


def request(html: str, root: Path, cache: ResultCache | None) -> bytes:
    """What a server needs to lay a part out as render_part(html, root, cache) would."""
    return json.dumps({"html": html, "root": str(root.resolve()),
                       "cache": None if cache is None or not cache.writable
                       else str(cache.directory.resolve()),
                       "force": bool(cache and cache.force)}).encode("utf-8")


def part_for(request: bytes) -> Part:
    from topicgen.publish.pdf import render_part
    from topicgen.results.cache import ResultCache

    fields = json.loads(request)
    cache = None if fields["cache"] is None else \
        ResultCache(Path(fields["cache"]), fields["force"])
    return render_part(fields["html"], Path(fields["root"]), cache)


def send(connection: socket.socket, kind: bytes, data: bytes) -> None:
    connection.sendall(HEADER.pack(kind, len(data)) + data)


def receive(connection: socket.socket) -> tuple[bytes, bytes]:
    kind, length = HEADER.unpack(read_exactly(connection, HEADER.size))
    return kind, read_exactly(connection, length)


def read_exactly(connection: socket.socket, count: int) -> bytes:
    chunks = []
    while count:
        chunk = connection.recv(min(count, 1 << 20))
        if not chunk:
            raise ServerGone("the PDF layout server closed the connection")
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def serve(path: Path, idle: float, sample: Path | None = None) -> None:
    """Lay out parts for whoever connects to `path` until no one has for `idle` seconds;
    return at once if a server for this code is running already. `sample`: see start()."""
    import fcntl

    pid_file = path.with_suffix(".pid")
    with open(pid_file, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            if sample is not None:
                sample.unlink(missing_ok=True)
            return
        lock.truncate(0)
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        try:
            if sample is not None:
                warm_up(sample)
            listen(path, idle)
        finally:
            path.unlink(missing_ok=True)
            pid_file.unlink(missing_ok=True)


def warm_up(sample: Path) -> None:
    """Lay a part out twice and forget it. WeasyPrint's first two layouts in a process also
    parse C declarations, load hyphenation dictionaries and fonts: the Transformer chapter
    took 2.0 and 1.7 s, then 1.1 s."""
    try:
        request = sample.read_bytes()
        for _ in range(2):
            part_for(request)
    except Exception:  # noqa: BLE001, S110 - a sample that fails only warms less
        pass
    finally:
        sample.unlink(missing_ok=True)


def listen(path: Path, idle: float) -> None:
    from topicgen.publish.pdf import import_layout_modules

    import_layout_modules()
    path.unlink(missing_ok=True)  # left by a server that was killed
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))
        listener.listen()
        listener.settimeout(idle)
        served = 0
        while served < MAX_PARTS:
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                return
            with connection:
                served += answer(connection, idle)


def answer(connection: socket.socket, idle: float | None = None) -> int:
    """Answer one build's requests until it hangs up (or sends nothing for `idle` seconds);
    returns how many parts it asked for."""
    connection.settimeout(idle)
    count = 0
    while True:
        try:
            _, data = receive(connection)
        except (ServerGone, OSError):
            return count
        count += 1
        try:
            reply = PART, part_for(data).to_bytes()
        except TopicgenError as error:
            reply = FAILED, error.message.encode("utf-8")
        except Exception as error:  # noqa: BLE001 - the build lays the part out itself
            reply = BROKEN, f"{type(error).__name__}: {error}".encode()
        try:
            send(connection, *reply)
        except OSError:
            return count  # the build was stopped; the next one may still come


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # still remove the socket
    serve(Path(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3]) if len(sys.argv) > 3 else None)
