"""Benchmark: lingofeed's server against Debian's nginx on the same published files, one core each.

Run from the repository root:
``.venv/bin/python -m benchmarks.serve [--seconds 5] [--articles 300]``.

Renders and publishes a site (``--articles`` synthetic articles x 2 languages, with the project's
own render and publish code, so ``.gz`` siblings included), starts nginx (one worker,
``gzip_static on``, pinned to core 0) and lingofeed's server (uvicorn as ``ServerThread`` runs it,
in a subprocess pinned to core 1) on loopback, then runs wrk against each in turn, on the other
core, for a full GET, a gzip GET and a conditional GET (If-None-Match) of ``en/feed.xml``.
Access logs are off on both sides. Prints req/s of both and lingofeed/nginx per scenario; the
named baseline is nginx, measured in the same run.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.render_serve import synthetic
from lingofeed.feeds.publish.atomic import publish
from lingofeed.feeds.render import FeedSettings, render_site
from lingofeed.feeds.serve.app import ServerThread, create_app

LANGUAGES = ("en", "fr")
FEED = "en/feed.xml"
NGINX_CORE, LINGOFEED_CORE = 0, 1

NGINX_CONF = """
worker_processes 1;
worker_cpu_affinity {mask};
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    sendfile on;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        gzip_static on;
        location ~ /\\. {{ return 404; }}
    }}
}}
"""


def require_tools() -> None:
    missing = [tool for tool in ("nginx", "wrk", "taskset") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(
            f"benchmarks/serve.py needs {', '.join(missing)}: "
            "install them with `apt-get install -y nginx wrk` (taskset is in util-linux)"
        )


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(url: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise SystemExit(f"no answer from {url} after {timeout:.0f} s") from None
            time.sleep(0.1)


def wrk(url: str, core: int, seconds: int, headers: dict[str, str]) -> float:
    """Requests/s of wrk (one thread, 16 connections, bounded duration) pinned to ``core``."""
    command = ["taskset", "-c", str(core), "wrk", "-t1", "-c16", f"-d{seconds}s", url]
    for name, value in headers.items():
        command[-1:-1] = ["-H", f"{name}: {value}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if found is None or "Non-2xx" in output:  # 304 counts as 3xx, so it is no failure
        raise SystemExit(f"wrk failed against {url}:\n{output}")
    return float(found.group(1))


def scenarios(base: str) -> dict[str, dict[str, str]]:
    """The three requests, with If-None-Match set to the ETag this server gives."""
    response = httpx.get(base + FEED, headers={"Accept-Encoding": "identity"})
    if response.status_code != 200 or "etag" not in response.headers:
        raise SystemExit(f"{base}{FEED}: HTTP {response.status_code} {response.headers}")
    etag = response.headers["etag"]
    return {
        "full GET": {"Accept-Encoding": "identity"},
        "gzip GET": {"Accept-Encoding": "gzip"},
        "conditional GET (304)": {"If-None-Match": etag},
    }


def serve_forever(root: Path, port: int) -> None:
    """The subprocess side: lingofeed's server as the service runs it, until killed."""
    ServerThread(create_app(root), port=port).start()
    while True:
        time.sleep(3600)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="per wrk run")
    parser.add_argument("--articles", type=int, default=300)
    parser.add_argument("--serve", nargs=2, metavar=("ROOT", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_forever(Path(args.serve[0]), int(args.serve[1]))
        return
    require_tools()
    settings = FeedSettings("https://feeds.example/", LANGUAGES, item_limit=50)
    entries = {code: items for code, items in synthetic(args.articles).items() if code in LANGUAGES}
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        tmp.chmod(0o755)  # nginx workers run as another user
        root = tmp / "public"
        publish(root, render_site(settings, entries))
        plain, zipped = (root / FEED).stat().st_size, (root / f"{FEED}.gz").stat().st_size
        print(f"{FEED}: {plain / 1000:.0f} kB, gzip {zipped / 1000:.0f} kB")
        nginx_port, own_port = free_port(), free_port()
        conf = tmp / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(mask=f"{1 << NGINX_CORE:b}", tmp=tmp, port=nginx_port, root=root)
        )
        nginx = subprocess.Popen(
            [
                "taskset",
                "-c",
                str(NGINX_CORE),
                "nginx",
                "-c",
                str(conf),
                "-e",
                str(tmp / "error.log"),
            ]
        )
        own = subprocess.Popen(
            ["taskset", "-c", str(LINGOFEED_CORE), sys.executable, "-m", "benchmarks.serve",
             "--serve", str(root), str(own_port)]
        )  # fmt: skip
        try:
            servers = {
                "nginx": (f"http://127.0.0.1:{nginx_port}/", LINGOFEED_CORE),
                "lingofeed": (f"http://127.0.0.1:{own_port}/", NGINX_CORE),
            }
            for base, _ in servers.values():
                wait_for(base + FEED)
            requests = {name: scenarios(base) for name, (base, _) in servers.items()}
            print(f"{'scenario':<24}{'nginx req/s':>14}{'lingofeed req/s':>18}{'ratio':>8}")
            for scenario in requests["nginx"]:
                rates = {
                    name: wrk(base + FEED, wrk_core, args.seconds, requests[name][scenario])
                    for name, (base, wrk_core) in servers.items()
                }
                ratio = rates["lingofeed"] / rates["nginx"]
                print(
                    f"{scenario:<24}{rates['nginx']:>14.0f}{rates['lingofeed']:>18.0f}{ratio:>8.2f}"
                )
        finally:
            for process in (own, nginx):
                process.terminate()
                process.wait(timeout=10)


if __name__ == "__main__":
    main()
