"""The long-running service: scheduler, HTTP server and config reload around the cycle.

``Service.run()`` builds everything in an ExitStack (storage -> translator -> scheduler -> HTTP
server), so whatever was started is stopped in reverse order however ``run`` ends, and logs
"stopped" or "crashed". ``stop()`` only signals (safe from a signal handler or another thread);
the scheduler then waits for the job in progress, so a write is never cut short. One job per
source, one at a time (translation already uses both cores, and SQLite has one writer).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from lingofeed.feeds.serve.app import ServerThread, create_app, install_token_redaction
from lingofeed.scheduler import status
from lingofeed.scheduler.config import load_settings
from lingofeed.scheduler.cycle import run_source
from lingofeed.scheduler.events import event
from lingofeed.scheduler.runtime import Runtime, open_runtime
from lingofeed.scheduler.settings import ConfigError, Schedule, Settings, SourceSettings

__all__ = ["Runtime", "Service", "open_runtime", "trigger_for"]

log = logging.getLogger("lingofeed.service")

#: Late runs after downtime still happen within this window (then once: coalesced).
MISFIRE_GRACE = timedelta(hours=1)
#: Keys that only take effect on restart; a reload that changes them says so.
_RESTART_KEYS = ("data_dir", "database_url", "models", "engine", "server")


def trigger_for(schedule: Schedule) -> BaseTrigger:
    """Interval or cron trigger with a little jitter, so many sources do not start together."""
    if schedule.cron is not None:
        return CronTrigger.from_crontab(schedule.cron, timezone=UTC)
    every = schedule.every or timedelta(minutes=15)
    jitter = int(min(30.0, every.total_seconds() / 10))
    return IntervalTrigger(seconds=int(every.total_seconds()), jitter=jitter or None, timezone=UTC)


class Service:
    """Runs sources on their schedules and serves feeds until ``stop()``; runs once per object."""

    def __init__(
        self,
        config_file: Path,
        *,
        environ: Mapping[str, str] | None = None,
        reload_interval: float = 2.0,
    ) -> None:
        self.config_file = Path(config_file)
        self.environ = environ
        self.reload_interval = reload_interval
        self.port: int | None = None
        self._stop = threading.Event()
        self._used = False
        self._settings: Settings | None = None
        self._runtime: Runtime | None = None
        self._scheduler: BackgroundScheduler | None = None
        self._mtime: float | None = None

    def stop(self) -> None:
        """Ask the service to stop; returns at once (``run`` returns when it is done)."""
        self._stop.set()

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            raise RuntimeError("the service is not running")
        return self._settings

    def run(self, *, handle_signals: bool = False) -> None:
        """Start everything, serve until ``stop()`` (or SIGTERM/SIGINT if ``handle_signals``)."""
        if self._used:
            raise RuntimeError("this Service has already run; create a new one")
        self._used = True
        try:
            with ExitStack() as stack:
                if handle_signals:
                    stack.enter_context(_stop_on_signals(self.stop))
                self._start(stack)
                log.info(event("running", port=self.port, config=self.config_file))
                while not self._stop.wait(self.reload_interval):
                    self._check_reload()
                log.info(event("stopping"))
        except BaseException:
            log.exception(event("crashed"))
            raise
        log.info(event("stopped"))

    def _start(self, stack: ExitStack) -> None:
        settings = load_settings(self.config_file, self.environ)
        self._mtime = self._config_mtime()
        self._settings = settings
        self._runtime = Runtime(settings, stack, load_models=True)
        scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=1)}, timezone=UTC
        )
        scheduler.start()
        stack.callback(scheduler.shutdown, wait=True)
        self._scheduler = scheduler
        self._schedule(settings.sources, first=True)
        self.port = self._serve(settings, stack)

    # -- jobs ----------------------------------------------------------------------------------

    def _schedule(self, sources: tuple[SourceSettings, ...], *, first: bool = False) -> None:
        """Add new sources (run now), reschedule changed ones, remove vanished ones."""
        assert self._scheduler is not None
        wanted = {configured.source.id: configured for configured in sources}
        for job in self._scheduler.get_jobs():
            if job.id not in wanted:
                job.remove()
                log.info(event("unscheduled", source=job.id))
        for source_id, configured in wanted.items():
            trigger = trigger_for(configured.schedule)
            if self._scheduler.get_job(source_id) is not None and not first:
                self._scheduler.reschedule_job(source_id, trigger=trigger)
                continue
            self._scheduler.add_job(
                self._run_job,
                trigger,
                args=[source_id],
                id=source_id,
                name=source_id,
                replace_existing=True,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=int(MISFIRE_GRACE.total_seconds()),
                next_run_time=datetime.now(UTC),
            )
            log.info(event("scheduled", source=source_id, schedule=configured.schedule.describe()))

    def _run_job(self, source_id: str) -> None:
        """One scheduled run; an unexpected error is logged and the job runs again next time."""
        settings, runtime = self.settings, self._runtime
        configured = next((s for s in settings.sources if s.source.id == source_id), None)
        if configured is None or runtime is None or self._stop.is_set():
            return
        try:
            run_source(runtime.context(settings), configured)
        except Exception as exc:
            log.exception(event("cycle-crashed", source=source_id, error=exc))

    def next_runs(self) -> dict[str, datetime | None]:
        if self._scheduler is None:
            return {}
        return {job.id: job.next_run_time for job in self._scheduler.get_jobs()}

    # -- config reload -------------------------------------------------------------------------

    def _config_mtime(self) -> float | None:
        try:
            return self.config_file.stat().st_mtime
        except OSError:
            return None

    def _check_reload(self) -> None:
        """Apply a changed config file if valid; otherwise log why and keep the running one."""
        mtime = self._config_mtime()
        if mtime is None or mtime == self._mtime:
            return
        self._mtime = mtime
        try:
            settings = load_settings(self.config_file, self.environ)
        except ConfigError as exc:
            for problem in exc.problems:
                log.error(event("config-rejected", problem=str(problem)))
            log.error(event("config-kept", reason=f"{len(exc.problems)} problem(s) in the edit"))
            return
        old = self.settings
        later = [key for key in _RESTART_KEYS if getattr(old, key) != getattr(settings, key)]
        if later:
            log.warning(event("config-needs-restart", keys=",".join(later)))
        self._settings = settings
        self._schedule(settings.sources)
        log.info(event("config-reloaded", sources=len(settings.sources),
                       languages=",".join(settings.language_codes)))  # fmt: skip

    # -- HTTP ----------------------------------------------------------------------------------

    def _serve(self, settings: Settings, stack: ExitStack) -> int:
        """Serve the output directory plus /status, /status.json, /metrics; return the port."""
        app = create_app(
            settings.output.directory,
            routes=self._routes(),
            partner_tokens={p.name: p.token for p in settings.partners},
            public=settings.server.public,
        )
        install_token_redaction()
        thread = ServerThread(app, settings.server.host, settings.server.port)
        try:
            url = thread.start()
        except RuntimeError as exc:
            where = f"{settings.server.host}:{settings.server.port}"
            raise OSError(f"cannot serve on {where} (in use? see the log above)") from exc
        stack.callback(thread.stop)
        return urlsplit(url).port or settings.server.port

    def status(self) -> status.StatusSnapshot:
        assert self._runtime is not None
        return self._runtime.status(self.settings, self.next_runs())

    def _routes(self) -> list[Route]:
        """Plain ``def`` endpoints: Starlette runs them in its thread pool, so their database
        reads never block the event loop that serves the feeds."""

        def page(request: Request) -> Response:
            return HTMLResponse(status.as_html(self.status()), headers=_NO_STORE)

        def as_json(request: Request) -> Response:
            return Response(
                status.as_json(self.status()), media_type="application/json", headers=_NO_STORE
            )

        def metrics(request: Request) -> Response:
            assert self._runtime is not None
            body = self._runtime.metrics.exposition()
            return Response(body, media_type="text/plain; version=0.0.4", headers=_NO_STORE)

        return [
            Route("/status", page, methods=["GET", "HEAD"]),
            Route("/status.json", as_json, methods=["GET", "HEAD"]),
            Route("/metrics", metrics, methods=["GET", "HEAD"]),
        ]


_NO_STORE = {"Cache-Control": "no-store"}


@dataclass
class _PreviousHandlers:
    term: object
    interrupt: object


@contextmanager
def _stop_on_signals(stop: object) -> Iterator[None]:
    """SIGTERM and SIGINT call ``stop`` while inside; the old handlers come back after."""
    assert callable(stop)

    def handler(signum: int, frame: FrameType | None) -> None:
        log.info(event("signal", signal=signal.Signals(signum).name))
        stop()

    previous = _PreviousHandlers(
        signal.signal(signal.SIGTERM, handler), signal.signal(signal.SIGINT, handler)
    )
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous.term)  # type: ignore[arg-type]
        signal.signal(signal.SIGINT, previous.interrupt)  # type: ignore[arg-type]
