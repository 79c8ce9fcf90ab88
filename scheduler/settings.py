"""The operator's settings as frozen dataclasses, and the error that lists a config's mistakes.

``scheduler.config`` builds these from the TOML file; everything else only reads them, and a
reload swaps the whole tree at once, so no part of the service ever sees half an edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from lingofeed.feeds.errors import LingofeedError
from lingofeed.feeds.types import Source
from lingofeed.scheduler.selection import EVERYTHING, Selection
from lingofeed.translations.engine import EngineSettings

#: Seconds per unit of an interval such as ``1h30m``.
INTERVAL_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
#: First retry after a failed fetch (``[service] retry_backoff``); doubles per failure.
DEFAULT_RETRY_BACKOFF = timedelta(minutes=1)
#: First retry of a failed WebSub publish ping (``[output] websub_backoff``); doubles per retry.
DEFAULT_WEBSUB_BACKOFF = timedelta(seconds=5)
#: Requests per changed feed URL at most (``[output] websub_attempts``).
DEFAULT_WEBSUB_ATTEMPTS = 4
#: Shortest time between two publishes of one channel (``[service] channel_debounce``).
DEFAULT_CHANNEL_DEBOUNCE = timedelta(seconds=30)


@dataclass(frozen=True)
class ConfigProblem:
    """One mistake in the config file, located precisely enough to fix without searching."""

    file: Path
    line: int
    key_path: str
    message: str

    def __str__(self) -> str:
        where = f" {self.key_path}:" if self.key_path else ""
        return f"{self.file}:{self.line}:{where} {self.message}"


class ConfigError(LingofeedError, ValueError):
    """The config file is unusable; ``problems`` lists every mistake found."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in config"
        return head + "".join(f"\n  {problem}" for problem in self.problems)


@dataclass(frozen=True)
class Schedule:
    """When a source is fetched: a fixed interval or a crontab expression (exactly one)."""

    every: timedelta | None = None
    cron: str | None = None

    def describe(self) -> str:
        """``every 1h30m`` or ``cron '*/5 * * * *'``, as the operator would write it."""
        if self.cron is not None:
            return f"cron {self.cron!r}"
        left = int((self.every or timedelta()).total_seconds())
        parts = []
        for unit, size in INTERVAL_UNITS.items():
            if left >= size:
                parts.append(f"{left // size}{unit}")
                left %= size
        return f"every {''.join(parts) or '0s'}"


@dataclass(frozen=True)
class SourceSettings:
    source: Source
    schedule: Schedule
    #: Its ``include``/``exclude`` filters and ``translate`` field choice.
    selection: Selection = EVERYTHING
    #: Labels channels select sources by (``[channels.<id>] tags``).
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChannelWords:
    """A channel's title and description in one language; None means the default."""

    title: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class ChannelSettings:
    """A named group of sources with a feed family of its own (``[channels.<id>]``)."""

    id: str
    #: Every source the channel shows: the listed ones and those with one of its tags, in
    #: config order.
    sources: tuple[str, ...]
    #: Per language code; ``""`` holds the words given for every language.
    words: tuple[tuple[str, ChannelWords], ...] = ()

    def words_for(self, language: str) -> ChannelWords:
        """The language's own words, each falling back to the channel-wide one."""
        found = dict(self.words)
        own, shared = found.get(language, ChannelWords()), found.get("", ChannelWords())
        return ChannelWords(own.title or shared.title, own.description or shared.description)


@dataclass(frozen=True)
class LanguageSettings:
    """A target language and the words its feeds show; None means the renderer's default."""

    code: str
    title: str | None = None
    description: str | None = None
    #: Shown with machine-translated items; ``{language}`` and ``{link}`` are filled in.
    notice: str | None = None
    #: Shown instead of ``notice`` on an article written in this language where only some
    #: passages were machine translated.
    notice_partial: str | None = None
    #: Shown instead of ``notice`` when the article's text is kept in its own language because
    #: its source does not translate it (``translate`` on the source).
    notice_original_text: str | None = None
    #: Also publish a bilingual twin of every feed: each translated block and its original.
    bilingual: bool = False
    #: Between a bilingual entry's translated title and its original (None: " — ").
    bilingual_separator: str | None = None


@dataclass(frozen=True)
class GlossarySettings:
    source: str
    target: str
    #: ``(source term, forced translation)`` pairs.
    terms: tuple[tuple[str, str], ...] = ()
    #: Terms kept verbatim (names, acronyms).
    protected: tuple[str, ...] = ()


@dataclass(frozen=True)
class OutputSettings:
    directory: Path
    #: Public URL the output directory is served under; always ends with ``/``.
    base_url: str
    #: Newest items kept in each published feed.
    item_limit: int = 50
    #: WebSub hub advertised in every feed and pinged after each publish of a changed feed.
    websub_hub: str | None = None
    websub_attempts: int = DEFAULT_WEBSUB_ATTEMPTS
    websub_backoff: timedelta = DEFAULT_WEBSUB_BACKOFF


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    #: 0 binds any free port (tests).
    port: int = 8080
    #: False serves feeds only to partners, under ``/p/<token>/``.
    public: bool = True


@dataclass(frozen=True)
class WorkerSettings:
    """``[workers]``: how a distributed cycle (PostgreSQL, ``lingofeed worker``) cuts its work.

    Read only by ``lingofeed worker`` and ``lingofeed run --distributed``.
    """

    #: Sentences per translation job (one language pair): large enough for the model to
    #: batch well, small enough that a killed worker loses little work.
    batch_segments: int = 64
    #: A worker whose heartbeat is older than this is presumed dead, and its jobs are run again.
    stalled_after: timedelta = timedelta(seconds=30)
    #: A publish job waits this long, so changes that arrive together publish once.
    publish_debounce: timedelta = timedelta(seconds=2)


@dataclass(frozen=True)
class ModelSettings:
    #: Where Argos packages are installed (never the user's home directory).
    directory: Path
    #: Package index for ``lingofeed models install FROM TO``: the config's ``index_url``, else
    #: ``ARGOS_PACKAGE_INDEX`` from the environment, else Argos's public index.
    index_url: str
    #: ``models install``/``remove`` refuse to change the directory: True always, False never,
    #: None when it holds packages lingofeed did not install (Argos Translate's own directory).
    read_only: bool | None = None


@dataclass(frozen=True)
class PartnerSettings:
    name: str
    token: str


@dataclass(frozen=True)
class Settings:
    config_file: Path
    sources: tuple[SourceSettings, ...]
    languages: tuple[LanguageSettings, ...]
    glossaries: tuple[GlossarySettings, ...]
    output: OutputSettings
    server: ServerSettings
    data_dir: Path
    database_url: str
    models: ModelSettings
    engine: EngineSettings
    #: Days a vanished item is kept before it is deleted.
    retention_days: int
    partners: tuple[PartnerSettings, ...] = ()
    #: Wait before the first retry of a failed fetch; doubles per consecutive failure.
    retry_backoff: timedelta = DEFAULT_RETRY_BACKOFF
    #: Let article pages (``full_text``) be fetched from private, loopback and link-local
    #: addresses; off, links from upstream cannot reach the service's own network.
    allow_private_addresses: bool = False
    workers: WorkerSettings = WorkerSettings()
    channels: tuple[ChannelSettings, ...] = ()
    #: Shortest time between two publishes of a channel (the default one included).
    channel_debounce: timedelta = DEFAULT_CHANNEL_DEBOUNCE

    @property
    def language_codes(self) -> tuple[str, ...]:
        return tuple(language.code for language in self.languages)

    def glossary(self, source: str, target: str) -> GlossarySettings | None:
        return next((g for g in self.glossaries if (g.source, g.target) == (source, target)), None)
