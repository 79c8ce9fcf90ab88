"""Serve the published directory over HTTP: a Starlette app (run it with uvicorn).

Feed readers poll, so the cheap path matters: every response carries a strong ETag (content
hash) and Last-Modified, conditional requests get 304 without reading the file, and file bytes,
hash and gzip body are cached keyed by (path, mtime_ns, size), so a republish (new inode, new
mtime) is seen on the next request. Only regular files inside the directory are served: no
``..``, no dot-files (the publisher's temp files), no symlinks leading out.

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
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

CONTENT_TYPES = {
    ".xml": "application/xml; charset=utf-8",
    ".json": "application/feed+json; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}
#: Feed files by name: ``feed.xml`` is RSS, ``atom.xml`` and archive pages are Atom.
RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
#: Smaller bodies are not worth compressing.
GZIP_MIN_BYTES = 512
_TOKEN_IN_PATH = re.compile(r"/p/[^/\s]+")


@dataclass(frozen=True)
class CachedFile:
    """A file's bytes with everything a response needs, computed once per version."""

    body: bytes
    gzip_body: bytes | None
    etag: str
    gzip_etag: str
    last_modified: float
    content_type: str


def content_type(path: Path) -> str:
    """The MIME type readers and validators expect for a published file."""
    if path.name == "feed.xml":
        return RSS_TYPE
    if path.suffix == ".xml":
        return ATOM_TYPE
    return CONTENT_TYPES.get(path.suffix, "application/octet-stream")


class FileCache:
    """LRU of CachedFile keyed by (path, mtime_ns, size), bounded in total bytes."""

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, int, int], CachedFile] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, path: Path, stat: os.stat_result) -> CachedFile:
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._items.get(key)
            if cached is not None:
                self._items.move_to_end(key)
                return cached
        cached = _load(path, stat)
        with self._lock:
            self._items[key] = cached
            self._size += len(cached.body) + len(cached.gzip_body or b"")
            while self._size > self.max_bytes and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._size -= len(old.body) + len(old.gzip_body or b"")
        return cached


def _load(path: Path, stat: os.stat_result) -> CachedFile:
    body = path.read_bytes()
    digest = hashlib.sha256(body).hexdigest()[:32]
    compressed = gzip.compress(body, mtime=0) if len(body) >= GZIP_MIN_BYTES else None
    return CachedFile(
        body=body,
        gzip_body=compressed,
        etag=f'"{digest}"',
        gzip_etag=f'"{digest}-gz"',
        last_modified=stat.st_mtime,
        content_type=content_type(path),
    )


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


def _accepts_gzip(request: Request) -> bool:
    for part in request.headers.get("accept-encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _not_modified(request: Request, cached: CachedFile) -> bool:
    """RFC 9110: If-None-Match wins over If-Modified-Since when both are sent."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or bool(tags & {cached.etag, cached.gzip_etag})
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since).timestamp()
        except (TypeError, ValueError):
            return False
        return int(cached.last_modified) <= since
    return False


class FeedFiles:
    """The endpoint serving published files (GET and HEAD), with conditional requests."""

    def __init__(self, root: Path, max_age: int, cache: FileCache) -> None:
        self.root = root.resolve()
        self.max_age = max_age
        self.cache = cache

    def respond(self, request: Request, relative: str, private: bool = False) -> Response:
        path = resolve_request_path(self.root, relative)
        if path is None:
            return PlainTextResponse("Not Found", status_code=404)
        cached = self.cache.get(path, path.stat())
        use_gzip = cached.gzip_body is not None and _accepts_gzip(request)
        scope = "private" if private else "public"
        headers = {
            "ETag": cached.gzip_etag if use_gzip else cached.etag,
            "Last-Modified": formatdate(cached.last_modified, usegmt=True),
            "Cache-Control": f"{scope}, max-age={self.max_age}",
            "Vary": "Accept-Encoding",
        }
        if _not_modified(request, cached):
            return Response(status_code=304, headers=headers)
        body = cached.gzip_body if use_gzip and cached.gzip_body is not None else cached.body
        if use_gzip:
            headers["Content-Encoding"] = "gzip"
        headers["Content-Length"] = str(len(body))
        if request.method == "HEAD":
            return Response(status_code=200, headers=headers, media_type=cached.content_type)
        return Response(body, headers=headers, media_type=cached.content_type)


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


def create_app(
    output_dir: Path,
    *,
    routes: Sequence[BaseRoute] = (),
    access: Callable[[], Access] = Access,
    max_age: int = 300,
    cache: FileCache | None = None,
) -> Starlette:
    """The app serving ``output_dir``; ``routes`` (e.g. /status, /metrics) are matched first.

    ``access()`` is read on every request (the service's current settings, so a reload
    applies at once); the default serves everyone and no partner. ``/healthz`` answers 200
    "ok" while the process can serve.
    """
    files = FeedFiles(Path(output_dir), max_age, cache or FileCache())

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok", headers={"Cache-Control": "no-store"})

    async def partner(request: Request) -> Response:
        tokens = access().tokens
        if not tokens or not _token_matches(request.path_params["token"], tokens):
            return PlainTextResponse("Not Found", status_code=404)
        return files.respond(request, request.path_params["path"], private=True)

    async def public_file(request: Request) -> Response:
        if not access().public:
            return PlainTextResponse("Not Found", status_code=404)
        return files.respond(request, request.path_params["path"])

    methods = ["GET", "HEAD"]
    return Starlette(
        routes=[
            *routes,
            Route("/healthz", healthz, methods=methods),
            Route("/p/{token}/{path:path}", partner, methods=methods),
            Route("/{path:path}", public_file, methods=methods),
        ]
    )


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


class ServerThread:
    """uvicorn serving an app from a background thread (tests, benchmarks, the service).

    ``start()`` returns once the socket listens and gives the base URL (port 0 picks a free
    port); ``stop()`` asks uvicorn to finish in-flight requests and joins the thread.
    """

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 0) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="off")
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
