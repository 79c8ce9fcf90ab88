"""lingofeed beyond one machine: the cycle as procrastinate jobs on PostgreSQL.

Why procrastinate and not a queue of our own: it keeps its jobs in the PostgreSQL database the
store already uses (no broker to run), defers a periodic task once per period however many
workers run, has per-job ``lock`` (one at a time) and ``queueing_lock`` (one waiting), retries
with backoff, and finds the jobs of a worker that stopped sending heartbeats.

The jobs, and the queue each goes to::

    tick        (periodic, queue "tick")   defers ``source`` for every source that is due
    source      (queue "sources")          fetch + store, hand the sentences the translation
                                           memory lacks to ``translate`` jobs, then ``assemble``
    translate   (queue "<src>-<tgt>")      one batch of one language pair: translate, store in
                                           the memory, defer ``assemble``
    assemble    (queue "sources")          once no batch of the source is outstanding, build its
                                           translations from the memory, defer ``publish``
    publish     (queue "publish")          render and write what changed (debounced)
    retry_stalled (periodic, queue "tick") runs again the jobs of workers presumed dead

A ``source`` job has ``queueing_lock`` and ``lock`` on the source id: one waits at most, one
runs at most, and it checks again that the source is due, so each schedule fetches once across
every worker. Translation work travels as the pipeline's own unit (a batch of sentences of one
pair), so a worker started with ``--queues fr-en`` only ever loads that model, once.

Nothing a job writes is half-done: the memory stores a batch in one transaction and compares
the text on read, translations are saved per article, and publishing replaces files atomically,
so a killed worker's job is simply run again (``retry_stalled``). A worker refuses a batch made
for another model version than the one it has (``ModelMismatchError``) rather than store
another model's output under that version's key.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import procrastinate
import sqlalchemy as sa
from apscheduler.triggers.cron import CronTrigger
from procrastinate import JobContext, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued, UniqueViolation
from procrastinate.jobs import Status
from sqlalchemy.engine import Engine

from lingofeed.feeds.errors import LingofeedError
from lingofeed.feeds.publish.site import SitePublish
from lingofeed.feeds.store import SourceState
from lingofeed.scheduler.config import load_settings
from lingofeed.scheduler.cycle import ingest_source, publish_channels, publish_source_feeds
from lingofeed.scheduler.events import event
from lingofeed.scheduler.runtime import Runtime
from lingofeed.scheduler.settings import ConfigError, Schedule, Settings, SourceSettings
from lingofeed.scheduler.translating import translate_pending, untranslated
from lingofeed.scheduler.types import CycleContext
from lingofeed.translations.errors import TranslationError
from lingofeed.translations.types import AlignedTranslation, AligningTranslator

__all__ = [
    "QUEUE_PUBLISH",
    "QUEUE_SOURCES",
    "QUEUE_TICK",
    "DistributedError",
    "LeftToWorkers",
    "ModelMismatchError",
    "WorkerState",
    "is_due",
    "make_app",
    "pair_queue",
    "prepare_queue",
    "tasks",
]

log = logging.getLogger("lingofeed.queue")

QUEUE_TICK = "tick"
QUEUE_SOURCES = "sources"
QUEUE_PUBLISH = "publish"
#: Every periodic task is deferred this often (croniter's sixth field is seconds).
TICK_CRON = "* * * * * */5"
#: Infrastructure trouble (the database restarting, a full disk) is retried with backoff:
#: 5 s, 25 s, 125 s, ... A source's own trouble never raises: it is recorded on its row and
#: backed off by the cycle (``cycle.backoff``), which ``is_due`` honours.
INFRASTRUCTURE_RETRY = RetryStrategy(max_attempts=6, exponential_wait=5)
#: The key under which a worker passes its ``WorkerState`` to every job.
STATE_KEY = "lingofeed"

tasks = procrastinate.Blueprint()


class DistributedError(LingofeedError):
    """The distributed mode cannot start (no PostgreSQL, no config)."""


class ModelMismatchError(TranslationError):
    """This worker has another version of the model than the one a batch was made for."""


def pair_queue(src: str, tgt: str) -> str:
    """The queue of one language pair's translation jobs: ``fr-en``."""
    return f"{src}-{tgt}"


def conninfo(database_url: str) -> str:
    """A libpq connection string for procrastinate, from the store's SQLAlchemy URL."""
    url = sa.make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise DistributedError(
            f"workers need a PostgreSQL database_url, not {url.get_backend_name()} "
            "([service] database_url or LINGOFEED_DATABASE_URL; SQLite runs everything in "
            "`lingofeed run`)"
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def make_app(database_url: str) -> procrastinate.App:
    """The procrastinate app on the store's PostgreSQL database, with lingofeed's tasks."""
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=conninfo(database_url))
    )
    app.add_tasks_from(tasks, namespace="lingofeed")
    return app


#: ``pg_advisory_xact_lock`` key held while procrastinate's schema is created ("lfqueue").
_QUEUE_SCHEMA_LOCK = 0x6C66717565756500


def prepare_queue(engine: Engine, app: procrastinate.App) -> bool:
    """Create procrastinate's tables unless they exist; True if this call created them.

    Under an advisory lock, so workers starting together create them once.
    """
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _QUEUE_SCHEMA_LOCK})
        if sa.inspect(conn).has_table("procrastinate_jobs"):
            return False
        # Straight to psycopg: with no parameters it leaves the schema's '%' signs alone.
        driver = conn.connection.driver_connection
        assert driver is not None
        driver.execute(app.schema_manager.get_schema())
    log.info(event("queue-schema-created"))
    return True


class LeftToWorkers:
    """The translator of jobs that must never run a model (``source``, ``assemble``).

    Model ids come from the installed packages (no weights are loaded). A sentence still
    missing from the memory when the articles are assembled was given to a translation job
    that failed or whose output the engine would not keep: the article is then marked failed
    with this reason, never published as translated.
    """

    def __init__(self, inner: AligningTranslator) -> None:
        self._inner = inner

    def model_id(self, src: str, tgt: str) -> str:
        return self._inner.model_id(src, tgt)

    def translate(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        raise self._missing(texts, src, tgt)

    def translate_aligned(
        self, texts: Sequence[str], src: str, tgt: str, *, align: bool = True
    ) -> list[AlignedTranslation]:
        raise self._missing(texts, src, tgt)

    @staticmethod
    def _missing(texts: Sequence[str], src: str, tgt: str) -> TranslationError:
        queue = pair_queue(src, tgt)
        return TranslationError(
            src,
            tgt,
            f"{len(texts)} sentence(s) not translated by the {queue!r} workers "
            "(see the failed jobs in lingofeed status)",
        )


@dataclass
class WorkerState:
    """What a worker's jobs share: the config (re-read when the file changes) and the
    runtime (database, fetcher, and the models, each loaded on first use and kept)."""

    runtime: Runtime
    settings: Settings
    _mtime: float = field(default=0.0)

    def __post_init__(self) -> None:
        self._mtime = self._stat()

    def _stat(self) -> float:
        try:
            return self.settings.config_file.stat().st_mtime
        except OSError:
            return self._mtime

    def current(self) -> Settings:
        """The settings, re-read if the config file changed; an invalid edit keeps the last."""
        mtime = self._stat()
        if mtime != self._mtime:
            self._mtime = mtime
            try:
                self.settings = load_settings(self.settings.config_file)
                log.info(event("config-reloaded", config=self.settings.config_file))
            except ConfigError as exc:
                log.error(event("config-invalid", config=self.settings.config_file, error=exc))
        return self.settings

    def context(self, *, run_models: bool) -> CycleContext:
        """A cycle context; without ``run_models`` no model is ever loaded (``LeftToWorkers``)."""
        settings = self.current()
        translator = self.runtime.translator
        if translator is None:
            raise RuntimeError("the worker's runtime was opened without models")
        return self.runtime.context(settings, None if run_models else LeftToWorkers(translator))


def _state(context: JobContext) -> WorkerState:
    state = context.additional_context[STATE_KEY]
    assert isinstance(state, WorkerState)
    return state


def next_run(schedule: Schedule, after: datetime) -> datetime:
    """When a source that last ran at ``after`` is due again (no jitter: the tick decides)."""
    if schedule.cron is not None:
        trigger = CronTrigger.from_crontab(schedule.cron, timezone=UTC)
        moment = trigger.get_next_fire_time(None, after + timedelta(seconds=1))
        assert isinstance(moment, datetime)  # a valid crontab always fires again
        return moment
    return after + (schedule.every or timedelta(minutes=15))


def is_due(configured: SourceSettings, state: SourceState | None, now: datetime) -> bool:
    """Never fetched; its backoff is over; or its schedule came round since the last fetch."""
    if state is None or state.last_fetch_at is None:
        return True
    if state.disabled:
        return False
    if state.next_attempt_at is not None:
        return state.next_attempt_at <= now
    return next_run(configured.schedule, state.last_fetch_at) <= now


def _defer(task: procrastinate.tasks.Task[Any, Any, Any], **options: Any) -> Any:
    """Defer with ``options`` (queue, locks); a twin already waiting is enough."""

    def send(**kwargs: Any) -> int | None:
        with suppress(AlreadyEnqueued):
            return int(task.configure(**options).defer(**kwargs))
        return None

    return send


@tasks.periodic(cron=TICK_CRON, periodic_id="tick")
@tasks.task(name="tick", queue=QUEUE_TICK, pass_context=True, queueing_lock="tick")
def tick(context: JobContext, timestamp: int) -> None:
    """Defer a ``source`` job for each source that is due."""
    state = _state(context)
    settings = state.current()
    now = datetime.now(UTC)
    known = {row.id: row for row in state.runtime.storage.get_sources()}
    for configured in settings.sources:
        if is_due(configured, known.get(configured.source.id), now):
            source_id = configured.source.id
            lock = f"source:{source_id}"
            _defer(source, queueing_lock=lock, lock=lock)(source_id=source_id)


@tasks.task(name="source", queue=QUEUE_SOURCES, pass_context=True, retry=INFRASTRUCTURE_RETRY)
def source(context: JobContext, source_id: str) -> None:
    """Fetch and store one source, then give what the memory lacks to the pair queues."""
    state = _state(context)
    ctx = state.context(run_models=False)
    configured = next((s for s in ctx.settings.sources if s.source.id == source_id), None)
    if configured is None:
        log.info(event("skipped", source=source_id, reason="no longer in the config"))
        return
    # The tick may have deferred this job while the previous one ran: fetch once per schedule.
    if is_due(configured, ctx.storage.get_source(source_id), ctx.clock()):
        ingest_source(ctx, configured)
    size = ctx.settings.workers.batch_segments
    for (src, tgt), units in untranslated(ctx, source_id).items():
        model = _model_id(state, src, tgt)
        for batch in _batches(units, size):
            _send_batch(source_id, src, tgt, model, batch)
    _assemble(ctx, state, source_id, exclude=None)


def _model_id(state: WorkerState, src: str, tgt: str) -> str:
    translator = state.runtime.translator
    assert translator is not None
    return translator.model_id(src, tgt)


def _batches(units: Sequence[tuple[str, bool]], size: int) -> Iterable[list[tuple[str, bool]]]:
    for start in range(0, len(units), size):
        yield list(units[start : start + size])


def _send_batch(
    source_id: str, src: str, tgt: str, model: str, batch: Sequence[tuple[str, bool]]
) -> None:
    digest = hashlib.sha256(
        json.dumps([source_id, src, tgt, model, batch], ensure_ascii=False).encode()
    ).hexdigest()[:24]
    _defer(translate, queue=pair_queue(src, tgt), lock=f"batch:{digest}")(
        source_id=source_id, src=src, tgt=tgt, model=model, units=[list(u) for u in batch]
    )
    log.info(event("batch-deferred", source=source_id, pair=pair_queue(src, tgt), size=len(batch)))


@tasks.task(name="translate", pass_context=True, retry=INFRASTRUCTURE_RETRY)
def translate(
    context: JobContext, source_id: str, src: str, tgt: str, model: str, units: list[list[Any]]
) -> None:
    """Translate one batch of one pair into the memory, then let its source assemble."""
    state = _state(context)
    settings = state.current()
    have = _model_id(state, src, tgt)
    if have != model:
        raise ModelMismatchError(
            src,
            tgt,
            f"this worker has {have}, the batch was made for {model}: install the same "
            "model versions on every worker (docs/scaling.md, 'Upgrading a model')",
        )
    runtime = state.runtime
    before = runtime.usage()
    stats = runtime.translation(settings).fill({(src, tgt): [(str(t), bool(n)) for t, n in units]})
    runtime.record_usage(tgt, runtime.usage() - before)
    log.info(
        event(
            "batch-translated",
            source=source_id,
            pair=pair_queue(src, tgt),
            size=len(units),
            translated=stats.sentences_translated,
            seconds=f"{stats.seconds:.2f}",
        )
    )
    job_id = context.job.id
    _defer(assemble, lock=f"assemble:{source_id}", schedule_in={"seconds": 1})(
        source_id=source_id, after_job=job_id
    )


@tasks.task(name="assemble", queue=QUEUE_SOURCES, pass_context=True, retry=INFRASTRUCTURE_RETRY)
def assemble(context: JobContext, source_id: str, after_job: int | None = None) -> None:
    """Build the source's translations from the memory once no batch is outstanding."""
    state = _state(context)
    _assemble(state.context(run_models=False), state, source_id, exclude=after_job)


def _assemble(ctx: CycleContext, state: WorkerState, source_id: str, exclude: int | None) -> None:
    waiting = outstanding_batches(state.runtime.engine, source_id, exclude=exclude)
    if waiting:
        log.info(event("assemble-waiting", source=source_id, batches=waiting))
        return
    outcomes = translate_pending(ctx, source_id)
    if any(outcome.done or outcome.failed for outcome in outcomes):
        debounce = ctx.settings.workers.publish_debounce
        _defer(
            publish,
            queueing_lock=f"publish:{source_id}",
            lock="publish",
            schedule_in={"seconds": debounce.total_seconds()},
        )(source_id=source_id)


@tasks.task(name="publish", queue=QUEUE_PUBLISH, pass_context=True, retry=INFRASTRUCTURE_RETRY)
def publish(context: JobContext, source_id: str) -> None:
    """Write the source's own feeds, and its channels unless their debounce holds them back
    (then ``publish_waiting`` is deferred to when it ends). One publish job runs at a time
    (``lock``): a channel file is never written by two jobs at once."""
    _after(publish_source_feeds(_state(context).context(run_models=False), source_id))


@tasks.task(
    name="publish_waiting", queue=QUEUE_PUBLISH, pass_context=True, retry=INFRASTRUCTURE_RETRY
)
def publish_waiting(context: JobContext) -> None:
    """Write the channels whose debounce window is over."""
    _after(publish_channels(_state(context).context(run_models=False)))


def _after(published: SitePublish) -> None:
    """Channels still waiting are published when their window ends: nothing is left behind."""
    if published.waiting_until is not None:
        _defer(
            publish_waiting,
            queueing_lock="publish-waiting",
            lock="publish",
            schedule_at=published.waiting_until,
        )()


@tasks.periodic(cron=TICK_CRON, periodic_id="retry_stalled")
@tasks.task(
    name="retry_stalled", queue=QUEUE_TICK, pass_context=True, queueing_lock="retry_stalled"
)
async def retry_stalled(context: JobContext, timestamp: int) -> None:
    """Run again the jobs of workers whose heartbeat stopped (killed, machine lost).

    A stalled job whose twin already waits (same queueing lock) is marked aborted instead
    (the twin does the same work): left "doing", its lock would hold every later job of its
    source.
    """
    state = _state(context)
    manager = context.app.job_manager
    seconds = state.current().workers.stalled_after.total_seconds()
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=seconds):
        try:
            await manager.retry_job(job)
            log.warning(event("job-stalled", job=job.id, task=job.task_name, action="retried"))
        except UniqueViolation:
            await manager.finish_job(job, Status.ABORTED, delete_job=False)
            log.warning(event("job-stalled", job=job.id, task=job.task_name, action="aborted"))


def outstanding_batches(engine: Engine, source_id: str, *, exclude: int | None) -> int:
    """Translation jobs of ``source_id`` not finished yet (``exclude``: the caller's own)."""
    query = sa.text(
        "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'lingofeed:translate'"
        " AND status IN ('todo', 'doing') AND args->>'source_id' = :source"
        " AND id <> :exclude"
    )
    with engine.connect() as conn:
        count = conn.execute(query, {"source": source_id, "exclude": exclude or -1}).scalar()
    return int(count or 0)
