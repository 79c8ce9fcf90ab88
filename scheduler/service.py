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
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from lingofeed.feeds.errors import ListenError
from lingofeed.feeds.serve.app import (
    Access,
    ServerThread,
    check_listenable,
    create_app,
    install_token_redaction,
)
from lingofeed.scheduler import status
from lingofeed.scheduler.config import ENGINE_KEYS, load_settings
from lingofeed.scheduler.cycle import (
    feed_settings,
    publish_channels,
    publish_everything,
    refresh,
    run_source,
)
from lingofeed.scheduler.events import event
from lingofeed.scheduler.runtime import Runtime, open_runtime
from lingofeed.scheduler.settings import ConfigError, Schedule, Settings, SourceSettings

__all__ = ["Runtime", "Service", "open_runtime", "trigger_for"]

log = logging.getLogger("lingofeed.service")

#: Late runs after downtime still happen within this window (then once: coalesced).
MISFIRE_GRACE = timedelta(hours=1)
#: The one-off job a reload adds to translate what it left pending and re-publish (a colon
#: never appears in a source id).
_REFRESH_JOB = "reload:refresh"
#: The one-off job that publishes channels whose debounce window is over.
_CHANNELS_JOB = "publish:channels"


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
        host: str | None = None,
        port: int | None = None,
        distributed: bool = False,
    ) -> None:
        self.config_file = Path(config_file)
        #: ``lingofeed run --distributed``: serve and tick; workers run the sources' jobs.
        self._distributed = distributed
        #: ``lingofeed run --host/--port``: replace the config's ``[server]`` values, at start
        #: and at every reload (so a reload does not report them as needing a restart).
        self._host = host
        self._port = port
        self.environ = environ
        self.reload_interval = reload_interval
        self.port: int | None = None
        self._stop = threading.Event()
        self._used = False
        self._settings: Settings | None = None
        self._runtime: Runtime | None = None
        self._scheduler: BackgroundScheduler | None = None
        self._mtime: float | None = None
        self._access = Access()

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
        except ListenError:
            raise  # said in one line by the caller; nothing had started yet
        except BaseException:
            log.exception(event("crashed"))
            raise
        log.info(event("stopped"))

    def _start(self, stack: ExitStack) -> None:
        settings = self._load()
        check_listenable(settings.server.host, settings.server.port)  # before models and jobs
        self._mtime = self._config_mtime()
        self._settings = settings
        self._access = _access(settings)
        self._runtime = Runtime(settings, stack, load_models=True)
        if self._distributed:
            from lingofeed.scheduler.worker import TickThread

            tick = TickThread(settings, self._runtime)
            tick.start()
            stack.callback(tick.stop)
        else:
            self._start_scheduler(settings, stack)
        self.port = self._serve(settings, stack)

    def _start_scheduler(self, settings: Settings, stack: ExitStack) -> None:
        scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=1)}, timezone=UTC
        )
        scheduler.add_listener(self._retry_at_backoff, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        scheduler.start()
        stack.callback(scheduler.shutdown, wait=True)
        self._scheduler = scheduler
        scheduler.add_job(
            self._publish_everything, id=_CHANNELS_JOB, name="publish", replace_existing=True,
            next_run_time=datetime.now(UTC), misfire_grace_time=None,
        )  # fmt: skip
        self._schedule(settings.sources, first=True)

    # -- jobs ----------------------------------------------------------------------------------

    def _schedule(self, sources: tuple[SourceSettings, ...], *, first: bool = False) -> None:
        """Add new sources (run now), reschedule changed ones, remove vanished ones (in the
        distributed mode, the tick reads the sources from the config file itself)."""
        if self._scheduler is None:
            return
        wanted = {configured.source.id: configured for configured in sources}
        for job in self._scheduler.get_jobs():
            if job.id not in wanted and job.id not in (_REFRESH_JOB, _CHANNELS_JOB):
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
            report = run_source(runtime.context(settings), configured)
        except Exception as exc:
            log.exception(event("cycle-crashed", source=source_id, error=exc))
            return
        self._publish_channels_at(report.waiting_until)

    def _publish_channels_at(self, when: datetime | None) -> None:
        """Run ``publish_channels`` at ``when`` (or earlier, if it is already due earlier).

        Channels wait for their debounce window; this timer publishes them when it ends even
        if no further job comes, so the final state is always published.
        """
        if when is None or self._scheduler is None or self._stop.is_set():
            return
        job = self._scheduler.get_job(_CHANNELS_JOB)
        if job is not None and job.next_run_time is not None and job.next_run_time <= when:
            return
        self._scheduler.add_job(
            self._publish_channels, id=_CHANNELS_JOB, name="channels", replace_existing=True,
            next_run_time=when, misfire_grace_time=None,
        )  # fmt: skip

    def _publish_everything(self) -> None:
        """The first job: every feed checked, so what changed while the service was stopped
        (a config edit, a crash before a channel was published) is published at once."""
        if self._runtime is None or self._stop.is_set():
            return
        try:
            publish_everything(self._runtime.context(self.settings))
        except Exception as exc:
            log.exception(event("publish-crashed", error=exc))

    def _publish_channels(self) -> None:
        """The timer's job: publish the channels that are due, re-arm for those still waiting."""
        if self._runtime is None or self._stop.is_set():
            return
        try:
            result = publish_channels(self._runtime.context(self.settings))
        except Exception as exc:
            log.exception(event("publish-crashed", error=exc))
            return
        self._publish_channels_at(result.waiting_until)

    def _retry_at_backoff(self, done: JobExecutionEvent) -> None:
        """After a source's run: when its backoff ends before its next regular run, run it then.

        A listener, called once the run is over (so the moved run can never overlap it: the job
        stays one job, ``max_instances=1``). The run at the backoff time is a regular run: an
        interval goes on from it, a cron keeps its times.
        """
        if self._scheduler is None or self._runtime is None or self._stop.is_set():
            return
        job = self._scheduler.get_job(done.job_id)
        state = self._runtime.storage.get_source(done.job_id)
        if job is None or job.next_run_time is None or state is None or state.disabled:
            return
        retry = state.next_attempt_at
        if retry is not None and retry < job.next_run_time:
            job.modify(next_run_time=retry)
            log.info(event("retry-scheduled", source=done.job_id, at=retry.isoformat()))

    def _refresh(self) -> None:
        """The job a reload adds: translate what the edit left pending, then publish."""
        if self._runtime is None or self._stop.is_set():
            return
        try:
            refresh(self._runtime.context(self.settings))
        except Exception as exc:
            log.exception(event("refresh-crashed", error=exc))

    def next_runs(self) -> dict[str, datetime | None]:
        if self._scheduler is None:
            return {}
        return {job.id: job.next_run_time for job in self._scheduler.get_jobs()}

    # -- config reload -------------------------------------------------------------------------

    def _load(self) -> Settings:
        settings = load_settings(self.config_file, self.environ)
        server = settings.server
        host = server.host if self._host is None else self._host
        port = server.port if self._port is None else self._port
        return replace(settings, server=replace(server, host=host, port=port))

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
            settings = self._load()
        except ConfigError as exc:
            for problem in exc.problems:
                log.error(event("config-rejected", problem=str(problem)))
            log.error(event("config-kept", reason=f"{len(exc.problems)} problem(s) in the edit"))
            return
        old = self.settings
        later = [key for key, value in _read_at_start(settings).items()
                 if _read_at_start(old)[key] != value]  # fmt: skip
        if later:
            log.warning(event("config-needs-restart", keys=",".join(later)))
        settings = _keep_start_values(settings, old)
        self._settings = settings
        self._access = _access(settings)
        self._schedule(settings.sources)
        if _shows_differently(old, settings) and self._scheduler is not None:
            self._scheduler.add_job(
                self._refresh, id=_REFRESH_JOB, name="reload", replace_existing=True,
                next_run_time=datetime.now(UTC), misfire_grace_time=None,
            )  # fmt: skip
        log.info(event("config-reloaded", sources=len(settings.sources),
                       languages=",".join(settings.language_codes)))  # fmt: skip

    # -- HTTP ----------------------------------------------------------------------------------

    def _serve(self, settings: Settings, stack: ExitStack) -> int:
        """Serve the output directory plus /status, /status.json, /metrics; return the port."""
        app = create_app(
            settings.output.directory,
            routes=self._routes(),
            access=lambda: self._access,
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


def _access(settings: Settings) -> Access:
    return Access({p.name: p.token for p in settings.partners}, settings.server.public)


def _read_at_start(settings: Settings) -> dict[str, object]:
    """The keys only a restart applies, by their config names: the database, the page
    fetcher's address guard, the models and engine loaded once, the listening socket and the
    directory it serves."""
    return {
        "service.data_dir": settings.data_dir,
        "service.database_url": settings.database_url,
        "service.allow_private_addresses": settings.allow_private_addresses,
        "models.directory": settings.models.directory,
        **{f"engine.{key}": getattr(settings.engine, name) for key, name in ENGINE_KEYS.items()},
        "server.host": settings.server.host,
        "server.port": settings.server.port,
        "output.directory": settings.output.directory,
    }


def _keep_start_values(edited: Settings, running: Settings) -> Settings:
    """``edited`` with the running values of ``_read_at_start``'s keys, so that nothing half
    applies one (publishing into a directory nobody serves) until the restart."""
    return replace(
        edited,
        data_dir=running.data_dir,
        database_url=running.database_url,
        allow_private_addresses=running.allow_private_addresses,
        models=replace(edited.models, directory=running.models.directory),
        engine=running.engine,
        server=replace(edited.server, host=running.server.host, port=running.server.port),
        output=replace(edited.output, directory=running.output.directory),
    )


def _shows_differently(old: Settings, new: Settings) -> bool:
    """Whether the published files or translations change: [output] and language words,
    languages, glossaries, a source's filters or field choice, or a source gone."""
    removed = {s.source.id for s in old.sources} - {s.source.id for s in new.sources}
    selections = {s.source.id: s.selection for s in new.sources}
    return (
        bool(removed)
        or feed_settings(old) != feed_settings(new)
        or old.glossaries != new.glossaries
        or any(selections.get(s.source.id, s.selection) != s.selection for s in old.sources)
    )


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
