"""What the service is doing: per source and per language, for ``lingofeed status`` and ``/status``.

Everything shown is read from the store, so the CLI (another process) and the HTTP page agree.
Model usage (calls, sentences, seconds, translation-memory hits) is added up per language in the
store (``StorageType.add_usage``) after each translation batch: it is how an operator, and the
tests, can see that a cycle with nothing new made no model call.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from lingofeed.feeds.store import SourceState, StorageCounts, StorageType
from lingofeed.feeds.store import Usage as Usage  # re-exported: the cycle's usage type


@dataclass(frozen=True)
class SourceStatus:
    id: str
    location: str
    schedule: str
    last_fetch: datetime | None
    last_ok: datetime | None
    result: str
    next_run: datetime | None
    error: str | None
    #: Article pages (``full_text``) whose last fetch or extraction failed; None when the
    #: source does not fetch full text.
    pages_failed: int | None = None
    #: Why one of them failed.
    page_error: str | None = None
    #: Present items its include/exclude filters leave out.
    filtered: int = 0


@dataclass(frozen=True)
class LanguageStatus:
    code: str
    #: Entries this language's feeds show.
    items: int
    #: Articles with no current translation yet (new, edited, or after a glossary change).
    untranslated: int
    failed: int
    usage: Usage
    #: Why translations into this language failed (one of the reasons), e.g. a missing model.
    error: str | None = None


@dataclass(frozen=True)
class QueueCounts:
    """One procrastinate queue's jobs by state (the distributed mode, ``scheduler.queue``)."""

    queue: str
    waiting: int
    running: int
    failed: int
    #: Jobs retried at least once (after an error, or after their worker died).
    retried: int


@dataclass(frozen=True)
class WorkerBeat:
    """One running ``lingofeed worker`` and when it last said it was alive."""

    id: int
    last_heartbeat: datetime


@dataclass(frozen=True)
class StatusSnapshot:
    generated: datetime
    sources: tuple[SourceStatus, ...]
    languages: tuple[LanguageStatus, ...]
    #: Packages in the models directory that cannot be used, each with the pair it leaves
    #: unavailable and why (``BrokenPackage.describe``); read from the directory, not the store.
    models: tuple[str, ...] = ()
    #: Empty unless the database holds a job queue (PostgreSQL with workers).
    queues: tuple[QueueCounts, ...] = ()
    workers: tuple[WorkerBeat, ...] = ()


@dataclass(frozen=True)
class SourceInfo:
    """What the config says about a source, for the status rows."""

    id: str
    location: str
    schedule: str
    full_text: bool = False


def snapshot(
    storage: StorageType,
    *,
    now: datetime,
    sources: tuple[SourceInfo, ...],
    languages: Mapping[str, str],
    next_runs: Mapping[str, datetime | None],
    models: tuple[str, ...] = (),
    source_contexts: Mapping[str, Mapping[str, str]] | None = None,
) -> StatusSnapshot:
    """Read the status of every configured source and language.

    ``languages`` maps each target language to its current translation context, so
    "untranslated" counts exactly what the next cycle would translate (``source_contexts``:
    language -> source id -> context, for sources with filters or a field choice, whose
    translations carry a context of their own). Everything is counted
    by the database (``get_counts``): no table is loaded to count it.
    """
    states = {state.id: state for state in storage.get_sources()}
    counts = storage.get_counts(languages, source_contexts)
    rows = tuple(
        replace(
            _with_pages(_source_status(i, states.get(i.id), next_runs.get(i.id)), i, counts),
            filtered=counts.filtered.get(i.id, 0),
        )
        for i in sources
    )
    usage = storage.get_usage()
    per_language = tuple(
        LanguageStatus(
            code,
            items=counts.shown.get(code, 0),
            untranslated=counts.untranslated.get(code, 0),
            failed=counts.translations.get(code, {}).get("failed", 0),
            usage=usage.get(code, Usage()),
            error=counts.errors.get(code),
        )
        for code, context in languages.items()
    )
    return StatusSnapshot(now, rows, per_language, models)


def with_queues(status: StatusSnapshot, engine: Engine) -> StatusSnapshot:
    """``status`` with the job queue's counts, per queue, and each worker's last heartbeat,
    when the database holds procrastinate's tables (counted by the database, like the rest).
    """
    if engine.dialect.name != "postgresql":
        return status
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("procrastinate_jobs"):
            return status
        rows = conn.execute(
            sa.text(
                "SELECT queue_name,"
                " count(*) FILTER (WHERE status = 'todo'),"
                " count(*) FILTER (WHERE status = 'doing'),"
                " count(*) FILTER (WHERE status = 'failed'),"
                " count(*) FILTER (WHERE attempts > 0)"
                " FROM procrastinate_jobs GROUP BY queue_name ORDER BY queue_name"
            )
        ).all()
        beats = conn.execute(
            sa.text("SELECT id, last_heartbeat FROM procrastinate_workers ORDER BY id")
        ).all()
    return replace(
        status,
        queues=tuple(QueueCounts(str(r[0]), *(int(n) for n in r[1:5])) for r in rows),
        workers=tuple(WorkerBeat(int(b[0]), b[1]) for b in beats),
    )


def _source_status(
    info: SourceInfo, state: SourceState | None, next_run: datetime | None
) -> SourceStatus:
    if state is None:
        return SourceStatus(info.id, info.location, info.schedule, None, None, "never run",
                            next_run, None)  # fmt: skip
    if state.disabled:
        result = "disabled"
    elif state.last_error:
        result = "error"
    else:
        result = "ok" if state.last_ok_at else "never run"
    return SourceStatus(
        info.id,
        info.location,
        info.schedule,
        state.last_fetch_at,
        state.last_ok_at,
        result,
        None if state.disabled else next_run,
        state.disabled_reason or state.last_error,
    )


def _with_pages(status: SourceStatus, info: SourceInfo, counts: StorageCounts) -> SourceStatus:
    """A full-text source's row with its failed pages counted."""
    if not info.full_text:
        return status
    return replace(
        status,
        pages_failed=counts.page_failures.get(info.id, 0),
        page_error=counts.page_errors.get(info.id),
    )


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment is not None else "-"


def _rate(value: float | None, fmt: str) -> str:
    return fmt.format(value) if value is not None else "-"


def as_json(status: StatusSnapshot) -> str:
    data = asdict(status)
    for language, entry in zip(status.languages, data["languages"], strict=True):
        entry["usage"]["hit_rate"] = language.usage.hit_rate
        entry["usage"]["segments_per_second"] = language.usage.segments_per_second
    return json.dumps(data, default=lambda o: o.isoformat(), indent=2, ensure_ascii=False)


def _source_cells(s: SourceStatus) -> tuple[str, ...]:
    pages = "-" if s.pages_failed is None else str(s.pages_failed)
    error = s.error or (f"page: {s.page_error}" if s.page_error else "")
    return (s.id, s.location, s.schedule, _when(s.last_fetch), s.result, _when(s.next_run),
            pages, str(s.filtered), error)  # fmt: skip


def _language_cells(lang: LanguageStatus) -> tuple[str, ...]:
    u = lang.usage
    return (lang.code, str(lang.items), str(lang.untranslated), str(lang.failed),
            _rate(u.hit_rate, "{:.0%}"), _rate(u.segments_per_second, "{:.1f}"),
            str(u.model_calls), lang.error or "")  # fmt: skip


_SOURCE_HEAD = ("source", "location", "schedule", "last fetch", "result", "next run",
                "pages failed", "filtered", "error")  # fmt: skip
_LANGUAGE_HEAD = ("language", "items", "untranslated", "failed", "TM hit rate", "segments/s",
                  "model calls", "error")  # fmt: skip


_QUEUE_HEAD = ("queue", "waiting", "running", "failed", "retried")
_WORKER_HEAD = ("worker", "last heartbeat")


_Rows = list[tuple[str, ...]]


def _tables(status: StatusSnapshot) -> list[tuple[str, tuple[str, ...], _Rows]]:
    """(caption, head, rows) of every table shown; the queue's only in the distributed mode."""
    tables: list[tuple[str, tuple[str, ...], _Rows]] = [
        ("Sources", _SOURCE_HEAD, [_source_cells(s) for s in status.sources]),
        ("Languages", _LANGUAGE_HEAD, [_language_cells(lang) for lang in status.languages]),
    ]
    if status.queues or status.workers:
        queues = [(q.queue, *(str(n) for n in (q.waiting, q.running, q.failed, q.retried)))
                  for q in status.queues]  # fmt: skip
        beats: _Rows = [(str(w.id), _when(w.last_heartbeat)) for w in status.workers]
        tables += [("Job queues", _QUEUE_HEAD, queues), ("Workers", _WORKER_HEAD, beats)]
    return tables


def as_text(status: StatusSnapshot) -> str:
    """Aligned tables for a terminal."""
    out = [f"lingofeed status at {_when(status.generated)}", ""]
    for _caption, head, rows in _tables(status):
        widths = [max(len(cell) for cell in column) for column in zip(head, *rows, strict=True)]
        for cells in (head, *rows):
            out.append("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
        out.append("")
    out += [f"model problem: {problem}" for problem in status.models]
    return "\n".join(out)


def _table(caption: str, head: tuple[str, ...], rows: list[tuple[str, ...]], css: str) -> str:
    th = "".join(f"<th scope='col'>{html.escape(cell)}</th>" for cell in head)
    body = "".join(
        f"<tr class='{css}-{html.escape(row[4] if css == 'source' else 'row')}'>"
        + "".join(f"<td>{html.escape(cell)}</td>" for cell in row)
        + "</tr>"
        for row in rows
    )
    return (
        f"<table class='{css}s'><caption>{html.escape(caption)}</caption>"
        f"<tr>{th}</tr>{body}</table>"
    )


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;padding:0 1rem;max-width:80rem;color:#222}
table{border-collapse:collapse;margin:1rem 0 2rem;width:100%}
caption{text-align:left;font-size:1.2rem;font-weight:600;padding:.4rem 0}
th,td{border:1px solid #ccc;padding:.35rem .6rem;text-align:left;vertical-align:top}
th{background:#f2f2f2;white-space:nowrap}td{white-space:nowrap}
.sources td:nth-child(2),.sources td:nth-child(9){white-space:normal;overflow-wrap:anywhere}
.languages td+td,.languages th+th{text-align:right;font-variant-numeric:tabular-nums}
.languages td:nth-child(8){text-align:left;white-space:normal;overflow-wrap:anywhere;color:#a51d1d}
.source-error td,.source-disabled td{background:#fde8e8}
.source-error td:nth-child(5),.source-disabled td:nth-child(5){color:#a51d1d;font-weight:600}
.source-ok td:nth-child(5){color:#176f2c;font-weight:600}
.models li{color:#a51d1d;overflow-wrap:anywhere}
"""


def as_html(status: StatusSnapshot) -> str:
    """A self-contained page (no scripts, no external assets), refreshed every 30 s."""
    css = {"Sources": "source", "Languages": "language", "Job queues": "queue", "Workers": "worker"}
    tables = "".join(
        _table(caption, head, rows, css[caption]) for caption, head, rows in _tables(status)
    )
    problems = "".join(f"<li>{html.escape(problem)}</li>" for problem in status.models)
    models = f"<h2>Model problems</h2><ul class='models'>{problems}</ul>" if problems else ""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='refresh' content='30'><title>lingofeed status</title>"
        f"<style>{_STYLE}</style></head><body><h1>lingofeed status</h1>"
        f"<p>Generated {html.escape(_when(status.generated))}.</p>{tables}{models}"
        "<p><a href='/status.json'>JSON</a> · <a href='/metrics'>Prometheus metrics</a></p>"
        "</body></html>"
    )
