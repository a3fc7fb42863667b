"""`topicgen serve`: the docs site on localhost, rebuilt when its sources change.

Builds run in the warm worker of a `watch.Rebuilder`, which ends when `serve` ends; a change to
Python code replaces the worker, so an edited experiment is picked up as a clean build would
see it. A failed rebuild keeps the last good site online and prints the error. Open pages poll
a version number and reload themselves.
"""

from __future__ import annotations

import errno
import functools
import logging
import threading
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from topicgen.errors import TopicgenError, UsageError
from topicgen.watch import Rebuilder, Watcher

log = logging.getLogger(__name__)

VERSION_PATH = "/__topicgen/version"
RELOAD_SCRIPT = (  # polls VERSION_PATH once a second and reloads when it changes
    "<script>(function(){var v=null;setInterval(function(){fetch('/__topicgen/version')"
    ".then(function(r){return r.text()}).then(function(t){if(v!==null&&t!==v)"
    "{location.reload()}v=t}).catch(function(){})},1000)})();</script>"
)


class SiteHandler(SimpleHTTPRequestHandler):
    """Serves only files under the site folder; adds the reload script to HTML pages."""

    state: dict  # {"version": int}, shared with the watcher

    def translate_path(self, path: str) -> str:
        root = Path(self.directory).resolve()
        resolved = Path(super().translate_path(path)).resolve()
        # translate_path already drops "..", but a symlink could still lead outside.
        return str(resolved) if resolved.is_relative_to(root) else str(root / "__outside__")

    def do_GET(self) -> None:
        if self.path == VERSION_PATH:
            self.reply(str(self.state["version"]).encode(), "text/plain")
            return
        path = Path(self.translate_path(self.path.split("?")[0]))
        if path.is_dir():
            path = path / "index.html"
        if path.suffix == ".html" and path.is_file():
            page = path.read_bytes().replace(b"</body>", RELOAD_SCRIPT.encode() + b"</body>", 1)
            self.reply(page, "text/html; charset=utf-8")
            return
        super().do_GET()

    def reply(self, body: bytes, content_type: str) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        log.debug("%s - %s", self.address_string(), format % args)


def make_server(site: Path, host: str, port: int, state: dict) -> ThreadingHTTPServer:
    handler = type("Handler", (SiteHandler,), {"state": state})
    try:
        return ThreadingHTTPServer((host, port), functools.partial(handler, directory=str(site)))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} on {host} is already in use (another server?); "
                             f"try --port {port + 1}") from None
        # An address this machine does not have, or a port it may not open: the command line's.
        raise UsageError(f"cannot serve on {host}:{port}: {error.strerror}; check --host and "
                         "--port") from None


def rebuild(rebuilder: Rebuilder, changed: set[Path], state: dict) -> None:
    log.info("change detected: rebuilding...")
    ok, line = rebuilder.build(changed)
    if ok:
        state["version"] += 1
        log.info("rebuilt; open pages reload")
    else:
        log.error("rebuild failed, still serving the last good site: %s", line)


def watch(watcher: Watcher, rebuilder: Rebuilder, state: dict, stop: threading.Event) -> None:
    while not stop.is_set():
        changed = watcher.next()
        if changed:
            rebuild(rebuilder, changed, state)


def serve(site: Path, host: str, port: int, rebuilder: Rebuilder, watched: list[Path],
          ready: threading.Event | None = None, stop: threading.Event | None = None,
          state: dict | None = None) -> None:
    """Bind, build the site, then serve it until interrupted (or `stop` is set), rebuilding
    on changes to `watched`. Binding first: a busy port fails in a second. `state`
    ({"version", "port"}) is filled in for callers that watch the server."""
    state = {} if state is None else state
    state["version"] = 0
    server = make_server(site, host, port, state)
    watcher = Watcher(watched)  # before the first build: a save during it is not lost
    try:
        ok, line = rebuilder.build()
        if not ok:
            raise TopicgenError(line.removeprefix("Error: "))
    except BaseException:
        watcher.stop.set()
        server.server_close()
        raise
    log.info(line)
    state["port"] = server.server_port
    if host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("warning: serving on %s makes the site reachable from other machines", host)
    stop = stop or threading.Event()
    threading.Thread(target=watch, args=(watcher, rebuilder, state, stop), daemon=True).start()
    threading.Thread(target=lambda: (stop.wait(), server.shutdown()), daemon=True).start()
    log.info("serving %s at http://%s:%d/ (Ctrl+C stops)", site, host, server.server_port)
    if ready:
        ready.set()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        watcher.stop.set()
        server.server_close()
