"""Serve the published directory over HTTP: a lean ASGI app, run by uvicorn on httptools+uvloop.

Feed readers poll, so the cheap path matters. Each published file is prepared once per version,
off the event loop: its bytes, a strong ETag (content hash), Last-Modified, its gzip body (the
publisher's ``.gz`` sibling when it holds exactly this version, else compressed here) and the
header lists of every response it can get. A request then costs one ``stat`` (the same syscall
nginx makes) to see that the prepared version is still the file on disk — a republish (new
inode, new mtime) is seen on the next request — and the ``send`` of ready bytes; conditional
requests get 304. Files go straight from this app to the server; only other paths (``routes``
such as /status, /healthz) go through Starlette's router, and they are matched first.

Only regular files inside the directory are served: no ``..``, no dot-files (the publisher's
temp files), no symlinks leading out.

Partner feeds: ``/p/<token>/<path>`` serves the same files to holders of a token. Tokens are
compared in constant time, a wrong or missing token is a plain 404, and
``TokenRedactingFilter`` keeps tokens out of uvicorn's access log. Who may read is asked of
``access()`` on every request, never copied at start: a reloaded config that revokes a token
closes that partner's door on the next request.

The same directory can be served by nginx instead; see ``docs/nginx.md``.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import logging
import os
import re
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Route

from lingofeed.feeds.errors import ListenError
from lingofeed.feeds.publish.atomic import GZIP_MIN_BYTES, gzip_bytes, gzip_sibling

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

CONTENT_TYPES = {
    ".xml": "application/xml; charset=utf-8",
    ".json": "application/feed+json; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".gz": "application/gzip",
}
#: Feed files by name: ``feed.xml`` is RSS, ``atom.xml`` and archive pages are Atom.
RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
_TOKEN_IN_PATH = re.compile(r"/p/[^/\s]+")
_PARTNER_PREFIX = "/p/"


def content_type(path: Path) -> str:
    """The MIME type readers and validators expect for a published file."""
    if path.name == "feed.xml":
        return RSS_TYPE
    if path.suffix == ".xml":
        return ATOM_TYPE
    return CONTENT_TYPES.get(path.suffix, "application/octet-stream")


def _identity(info: os.stat_result) -> tuple[int, int, int, int]:
    """What changes whenever the publisher replaces a file (it always makes a new inode)."""
    return (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)


@dataclass(frozen=True)
class Prepared:
    """One response, ready to send: status, header list and body (empty for HEAD and 304)."""

    status: int
    headers: Headers
    body: bytes


@dataclass(frozen=True)
class PreparedFile:
    """A file's version with every response it can get, computed once, off the event loop."""

    path: str
    identity: tuple[int, int, int, int]
    body: bytes
    gzip_body: bytes | None
    etag: str
    gzip_etag: str
    last_modified: float
    #: Keyed by (gzip, private): the 200 headers (with Content-Length) and the 304 headers.
    full: Mapping[tuple[bool, bool], Headers]
    not_modified: Mapping[tuple[bool, bool], Headers]

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzip_body or b"")


def _gzip_body(path: Path, body: bytes) -> bytes | None:
    """The publisher's ``.gz`` sibling if it decompresses to exactly ``body``, else a fresh one.

    The sibling is checked, not trusted: between the publisher's two renames it is one version
    behind, and a stale one must never be served under the new version's ETag.
    """
    if len(body) < GZIP_MIN_BYTES:
        return None
    try:
        sibling = gzip_sibling(path).read_bytes()
        if gzip.decompress(sibling) == body:
            return sibling
    except (OSError, EOFError, gzip.BadGzipFile):
        pass
    return gzip_bytes(body)


def prepare_file(path: Path, max_age: int) -> PreparedFile:
    """Read ``path`` (already resolved inside the root) and prepare its responses."""
    with open(path, "rb", opener=lambda name, flags: os.open(name, flags | os.O_NOFOLLOW)) as f:
        info = os.fstat(f.fileno())
        body = f.read()
    digest = hashlib.sha256(body).hexdigest()[:32]
    etag, gzip_etag = f'"{digest}"', f'"{digest}-gz"'
    compressed = _gzip_body(path, body)
    common = [
        (b"last-modified", formatdate(info.st_mtime, usegmt=True).encode()),
        (b"vary", b"Accept-Encoding"),
    ]
    full: dict[tuple[bool, bool], Headers] = {}
    not_modified: dict[tuple[bool, bool], Headers] = {}
    for use_gzip in (False, True):
        for private in (False, True):
            scope = "private" if private else "public"
            headers = [
                (b"etag", (gzip_etag if use_gzip else etag).encode()),
                (b"cache-control", f"{scope}, max-age={max_age}".encode()),
                *common,
            ]
            not_modified[use_gzip, private] = headers
            sent = compressed if use_gzip and compressed is not None else body
            full[use_gzip, private] = [
                *headers,
                (b"content-type", content_type(path).encode()),
                (b"content-length", str(len(sent)).encode()),
                *([(b"content-encoding", b"gzip")] if use_gzip else []),
            ]
    return PreparedFile(
        path=str(path),
        identity=_identity(info),
        body=body,
        gzip_body=compressed,
        etag=etag,
        gzip_etag=gzip_etag,
        last_modified=info.st_mtime,
        full=full,
        not_modified=not_modified,
    )


class FileCache:
    """Prepared files by request path (LRU), bounded in total bytes.

    ``current`` answers from the event loop with one ``lstat``; ``load`` reads and prepares a
    file and runs in a worker thread. Thread-safe.
    """

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, PreparedFile] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def current(self, relative: str) -> PreparedFile | None:
        """The prepared version of ``relative`` if it is still the file on disk, else None."""
        with self._lock:
            prepared = self._items.get(relative)
            if prepared is None:
                return None
            self._items.move_to_end(relative)
        try:
            if _identity(os.lstat(prepared.path)) == prepared.identity:
                return prepared
        except OSError:
            pass
        return None

    def load(self, root: Path, relative: str, max_age: int) -> PreparedFile | None:
        """Resolve, read and prepare ``relative`` under ``root`` (blocking: call off the loop)."""
        path = resolve_request_path(root, relative)
        if path is None:
            return None
        try:
            prepared = prepare_file(path, max_age)
        except OSError:
            return None
        with self._lock:
            old = self._items.pop(relative, None)
            self._size += prepared.size - (old.size if old is not None else 0)
            self._items[relative] = prepared
            while self._size > self.max_bytes and len(self._items) > 1:
                _, evicted = self._items.popitem(last=False)
                self._size -= evicted.size
        return prepared


def resolve_request_path(root: Path, relative: str) -> Path | None:
    """The regular file ``relative`` names under ``root``, or None (never outside ``root``)."""
    parts = [part for part in relative.split("/") if part]
    if not parts:
        parts = ["index.html"]
    if any(part.startswith(".") or "\\" in part or "\0" in part for part in parts):
        return None
    try:
        candidate = root.joinpath(*parts).resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _accepts_gzip(accept_encoding: str | None) -> bool:
    for part in (accept_encoding or "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _not_modified(scope: Scope, prepared: PreparedFile) -> bool:
    """RFC 9110: If-None-Match wins over If-Modified-Since when both are sent."""
    if_none_match = _header(scope, b"if-none-match")
    if if_none_match is not None:
        if if_none_match in (prepared.etag, prepared.gzip_etag):  # what readers send back
            return True
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or bool(tags & {prepared.etag, prepared.gzip_etag})
    if_modified_since = _header(scope, b"if-modified-since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since).timestamp()
        except (TypeError, ValueError):
            return False
        return int(prepared.last_modified) <= since
    return False


def _plain(
    status: int, text: str, extra: Sequence[tuple[bytes, bytes]] = (), kind: bytes = b"text/plain"
) -> Prepared:
    body = text.encode()
    headers = [(b"content-type", kind + b"; charset=utf-8"),
               (b"content-length", str(len(body)).encode()), *extra]  # fmt: skip
    return Prepared(status, headers, body)


NOT_FOUND = _plain(404, "Not Found")
#: ``/`` before the first publish has written index.html: a visitor of a just-started service
#: learns it is working, not that it is broken; Retry-After tells programs when to come back.
STARTING = _plain(
    503,
    '<!DOCTYPE html><html lang="en"><meta charset="utf-8"><meta http-equiv="refresh" content="30">'
    "<title>lingofeed is starting</title><p>lingofeed is running its first cycle; the feeds"
    " appear here once it has published. This page reloads itself.</p></html>\n",
    [(b"retry-after", b"30"), (b"cache-control", b"no-store")],
    kind=b"text/html",
)
METHOD_NOT_ALLOWED = _plain(405, "Method Not Allowed", [(b"allow", b"GET, HEAD")])


def respond(scope: Scope, prepared: PreparedFile, *, private: bool) -> Prepared:
    """The response ``prepared`` gives this request: 304, or 200 plain or gzip, HEAD or GET."""
    use_gzip = prepared.gzip_body is not None and _accepts_gzip(_header(scope, b"accept-encoding"))
    if _not_modified(scope, prepared):
        return Prepared(304, prepared.not_modified[use_gzip, private], b"")
    headers = prepared.full[use_gzip, private]
    if scope["method"] == "HEAD":
        return Prepared(200, headers, b"")
    body = prepared.gzip_body if use_gzip and prepared.gzip_body is not None else prepared.body
    return Prepared(200, headers, body)


async def send_prepared(send: Send, response: Prepared) -> None:
    await send({"type": "http.response.start", "status": response.status,
                "headers": response.headers})  # fmt: skip
    await send({"type": "http.response.body", "body": response.body})


class FeedFiles:
    """The published files, for GET and HEAD: prepared once per version, sent from memory."""

    def __init__(self, root: Path, max_age: int, cache: FileCache) -> None:
        self.root = root.resolve()
        self.max_age = max_age
        self.cache = cache

    async def get(self, relative: str) -> PreparedFile | None:
        """The current prepared version; a new version is read in a worker thread."""
        key = "/".join(part for part in relative.split("/") if part)
        prepared = self.cache.current(key)
        if prepared is None:
            prepared = await anyio.to_thread.run_sync(self.cache.load, self.root, key, self.max_age)
        return prepared


@dataclass(frozen=True)
class Access:
    """Who may read the feeds: everyone when ``public``, and holders of a partner token."""

    #: Partner name -> token.
    tokens: Mapping[str, str] = field(default_factory=dict)
    #: False serves files only under ``/p/<token>/``.
    public: bool = True


def _token_matches(given: str, tokens: Mapping[str, str]) -> bool:
    """Compare against every token, always, so timing says nothing about which was close."""
    matched = False
    for token in tokens.values():
        matched |= hmac.compare_digest(given.encode(), token.encode())
    return matched


class FeedApp:
    """The ASGI app: ``routes`` first (through Starlette), then partner and public files.

    Files skip Starlette's request and response objects: on this path they would cost more
    than everything else a cached response needs.
    """

    def __init__(
        self,
        files: FeedFiles,
        router: Starlette,
        routes: Sequence[BaseRoute],
        access: Callable[[], Access],
    ) -> None:
        self.files = files
        self.router = router
        self.routes = tuple(routes)
        #: Read on every request, so a config reload revokes a token at once.
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._routed(scope):
            await self.router(scope, receive, send)
            return
        await send_prepared(send, await self.file_response(scope))

    def _routed(self, scope: Scope) -> bool:
        return any(route.matches(scope)[0] is not Match.NONE for route in self.routes)

    async def file_response(self, scope: Scope) -> Prepared:
        if scope["method"] not in ("GET", "HEAD"):
            return METHOD_NOT_ALLOWED
        path: str = scope["path"]
        private = path.startswith(_PARTNER_PREFIX)
        access = self.access()
        if private:
            token, _, path = path[len(_PARTNER_PREFIX) :].partition("/")
            if not access.tokens or not _token_matches(token, access.tokens):
                return NOT_FOUND
        elif not access.public:
            return NOT_FOUND
        prepared = await self.files.get(path)
        if prepared is None:
            return STARTING if not path.strip("/") else NOT_FOUND
        return respond(scope, prepared, private=private)


def create_app(
    output_dir: Path,
    *,
    routes: Sequence[BaseRoute] = (),
    access: Callable[[], Access] = Access,
    max_age: int = 300,
    cache: FileCache | None = None,
) -> FeedApp:
    """The app serving ``output_dir``; ``routes`` (e.g. /status, /metrics) are matched first.

    ``access()`` is read on every request (the service's current settings, so a reload
    applies at once); the default serves everyone and no partner. ``/healthz`` answers 200
    "ok" while the process can serve.
    """

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok", headers={"Cache-Control": "no-store"})

    extra = [*routes, Route("/healthz", healthz, methods=["GET", "HEAD"])]
    files = FeedFiles(Path(output_dir), max_age, cache or FileCache())
    return FeedApp(files, Starlette(routes=extra), extra, access)


class TokenRedactingFilter(logging.Filter):
    """Replaces ``/p/<token>`` with ``/p/***`` in log records (add it to "uvicorn.access")."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_PATH.sub("/p/***", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        record.msg = _TOKEN_IN_PATH.sub("/p/***", str(record.msg))
        return True


def install_token_redaction(logger_name: str = "uvicorn.access") -> None:
    """Keep partner tokens out of the access log; call once before starting uvicorn."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, TokenRedactingFilter) for f in logger.filters):
        logger.addFilter(TokenRedactingFilter())


def check_listenable(host: str, port: int) -> None:
    """Raise ``ListenError`` unless a server could listen on ``host:port`` now.

    Binds and closes a probe socket the way uvicorn binds (``SO_REUSEADDR``), so a busy port is
    one clear error before anything else starts, rather than a traceback from uvicorn's thread.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise ListenError(
                f"cannot listen on {host}:{port}: {reason.lower()}; "
                "change [server] port in the config or pass --port"
            ) from exc


class ServerThread:
    """uvicorn serving an app from a background thread (tests, benchmarks, the service).

    ``start()`` returns once the socket listens and gives the base URL (port 0 picks a free
    port); ``stop()`` asks uvicorn to finish in-flight requests and joins the thread.
    """

    def __init__(self, app: FeedApp, host: str = "127.0.0.1", port: int = 0) -> None:
        # httptools and uvloop (C parsers and event loop) rather than the pure-Python h11 and
        # asyncio defaults: 2-3x the requests/s per core (benchmarks/serve.py).
        config = uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="off",
                                http="httptools", loop="uvloop")  # fmt: skip
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, name="lingofeed-http", daemon=True)

    def start(self, timeout: float = 10.0) -> str:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("HTTP server did not start")
            time.sleep(0.01)
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}/"

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self._thread.join(timeout)
