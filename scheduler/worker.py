"""``lingofeed worker`` and the tick of ``lingofeed run --distributed``: procrastinate workers.

A worker is one process running jobs of the queues it is given (all by default) one at a
time: translation already keeps the cores busy, and a job never shares a model between
threads. Every worker also defers the periodic tasks (procrastinate makes that happen once per
period across all of them), so the schedule keeps running while any worker is up.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

import procrastinate

from lingofeed.scheduler.events import event
from lingofeed.scheduler.queue import (
    QUEUE_TICK,
    STATE_KEY,
    WorkerState,
    make_app,
    prepare_queue,
)
from lingofeed.scheduler.runtime import Runtime, open_runtime
from lingofeed.scheduler.settings import Settings

__all__ = ["TickThread", "run_worker", "worker_options"]

log = logging.getLogger("lingofeed.worker")


def worker_options(
    state: WorkerState, queues: Sequence[str] | None, name: str | None
) -> dict[str, Any]:
    """procrastinate's worker options from ``[workers]``: heartbeats three times per
    ``stalled_after``, so one late beat never marks a live worker dead."""
    stalled = state.settings.workers.stalled_after.total_seconds()
    return {
        "queues": list(queues) if queues else None,
        "name": name,
        "concurrency": 1,
        "additional_context": {STATE_KEY: state},
        "update_heartbeat_interval": max(stalled / 3, 0.5),
        "stalled_worker_timeout": stalled,
        # Failed jobs stay for the status page and an operator; done ones would only pile up.
        "delete_jobs": "successful",
    }


def _open(settings: Settings, runtime: Runtime) -> tuple[procrastinate.App, WorkerState]:
    app = make_app(settings.database_url)
    prepare_queue(runtime.engine, app)
    return app, WorkerState(runtime, settings)


def run_worker(settings: Settings, queues: Sequence[str] | None, name: str | None) -> None:
    """Run jobs until SIGINT/SIGTERM (the job in progress finishes first)."""
    with open_runtime(settings) as runtime:
        app, state = _open(settings, runtime)
        log.info(event("worker-started", queues=",".join(queues or ["all"]), worker=name or "-"))
        app.run_worker(**worker_options(state, queues, name))
        log.info(event("worker-stopped", worker=name or "-"))


class TickThread:
    """A worker on the ``tick`` queue only, in a thread of ``lingofeed run --distributed``:
    it defers the periodic tasks and runs the tick, so the server's process keeps the
    schedule; fetching, translating and publishing are left to ``lingofeed worker``."""

    def __init__(self, settings: Settings, runtime: Runtime) -> None:
        self._app, self._state = _open(settings, runtime)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lingofeed-tick", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(timeout=30)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        options = worker_options(self._state, [QUEUE_TICK], "tick")
        async with self._app.open_async():
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.create_task(
                self._app.run_worker_async(install_signal_handlers=False, **options)
            )
            self._ready.set()
            with suppress(asyncio.CancelledError):
                await self._task

    def stop(self) -> None:
        """Ask the worker to stop after its job in progress, and wait for it."""
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout=60)
