"""Load the operator's TOML file into one frozen ``Settings`` tree, validated before use.

Every mistake is reported at once, each naming the file, the LINE and the key path, because an
operator fixing a config wants the whole list, not one error per restart. ``tomllib`` gives no
positions, so a small scanner over the TOML text maps key paths to lines (``tomllines``).

Relative paths resolve against the config file's folder, so the service behaves the same whatever
directory it is started from. Secrets may come from the environment (``LINGOFEED_DATABASE_URL``,
``LINGOFEED_PARTNER_<NAME>_TOKEN``) so they need not sit in a file; ``environ`` is injectable.
"""

from __future__ import annotations

import os
import re
import string
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from apscheduler.triggers.cron import CronTrigger
from babel import Locale, UnknownLocaleError

from lingofeed.feeds.render.errors import RenderError
from lingofeed.feeds.render.languages import normalize_language
from lingofeed.feeds.store.db import DIALECTS
from lingofeed.feeds.store.schema import SOURCE_ID_LENGTH
from lingofeed.feeds.types import Source
from lingofeed.scheduler.selection import TRANSLATABLE_FIELDS, Selection, pattern_error
from lingofeed.scheduler.settings import (
    DEFAULT_CHANNEL_DEBOUNCE,
    DEFAULT_RETRY_BACKOFF,
    DEFAULT_WEBSUB_ATTEMPTS,
    DEFAULT_WEBSUB_BACKOFF,
    INTERVAL_UNITS,
    ChannelSettings,
    ChannelWords,
    ConfigError,
    ConfigProblem,
    GlossarySettings,
    LanguageSettings,
    ModelSettings,
    OutputSettings,
    PartnerSettings,
    Schedule,
    ServerSettings,
    Settings,
    SourceSettings,
    WorkerSettings,
)
from lingofeed.scheduler.tomllines import KeyPath, key_lines
from lingofeed.translations.engine import (
    COMPUTE_TYPES,
    DEVICES,
    EngineSettings,
    cuda_device_count,
    supported_compute_types,
)

__all__ = [
    "ARGOS_INDEX",
    "ENGINE_KEYS",
    "ConfigError",
    "ConfigProblem",
    "Settings",
    "load_settings",
]

_MISSING: Any = object()
#: Argos Translate's public package index (a folder holding ``index.json``).
ARGOS_INDEX = "https://raw.githubusercontent.com/argosopentech/argospm-index/main/"
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_INTERVAL_RE = re.compile(r"^(?:\d+[dhms])+$")
#: What ``notice_html`` fills in a notice template; anything else would appear literally.
NOTICE_PLACEHOLDERS = ("language", "link")
#: ``[engine]`` keys and the ``EngineSettings`` field each sets (``batch_size`` is the
#: config's older, shorter name); the other fields are the engine's measured defaults.
ENGINE_KEYS = {
    "beam_size": "beam_size",
    "inter_threads": "inter_threads",
    "intra_threads": "intra_threads",
    "batch_size": "max_batch_size",
    "device": "device",
    "compute_type": "compute_type",
}


class _Checker:
    """Collects problems while reading the raw TOML dict; each knows its line."""

    def __init__(self, file: Path, text: str) -> None:
        self.file = file
        self.lines = key_lines(text)
        self.problems: list[ConfigProblem] = []

    def problem(self, path: KeyPath, message: str) -> None:
        line = next(
            (self.lines[path[:n]] for n in range(len(path), 0, -1) if path[:n] in self.lines), 1
        )
        dotted = ".".join(str(part) for part in path)
        self.problems.append(ConfigProblem(self.file, line, dotted, message))

    def table(self, raw: Any, path: KeyPath, allowed: set[str] | None = None) -> dict[str, Any]:
        """``raw`` as a table, reporting unknown keys; a wrong type gives an empty table."""
        if raw is _MISSING:
            return {}
        if not isinstance(raw, dict):
            self.problem(path, f"must be a table, not {_kind(raw)}")
            return {}
        for key in raw:
            if allowed is not None and key not in allowed:
                known = ", ".join(sorted(allowed))
                self.problem((*path, key), f"unknown key {key!r} (known: {known})")
        return raw

    def get(self, table: dict[str, Any], path: KeyPath, key: str, kind: type, default: Any) -> Any:
        """``table[key]`` checked against ``kind``; ``default`` (or None after a problem)."""
        value = table.get(key, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                self.problem((*path, key), "is required")
                return None
            return default
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problem((*path, key), f"must be {kind.__name__}, not {_kind(value)}")
            return None
        return value

    def positive(self, table: dict[str, Any], path: KeyPath, key: str, default: Any) -> Any:
        value = self.get(table, path, key, int, default)
        if value is not None and value < 1:
            self.problem((*path, key), f"must be at least 1, not {value}")
            return None
        return value

    def language(self, code: str, path: KeyPath) -> str:
        """``code`` in canonical BCP 47 form (``PT_br`` -> ``pt-BR``), the one spelling that
        storage, rendering and output paths all compare; ``code`` itself after a problem."""
        try:
            Locale.parse(code, sep="-")
            return normalize_language(code)
        except (UnknownLocaleError, RenderError, ValueError, TypeError):
            self.problem(
                path, f"{code!r} is not a known language code (BCP 47, e.g. 'fr', 'pt-BR')"
            )
        return code

    def url(self, value: str | None, path: KeyPath) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                self.problem(path, f"{value!r} is not an http(s) URL")
        return value

    def usable_dir(self, path: Path, key: KeyPath) -> Path:
        """Report ``path`` unless it is a readable directory or could be created as one; for a
        directory lingofeed only reads (models shared with Argos Translate: never written)."""
        if path.exists():
            if not path.is_dir() or not os.access(path, os.R_OK | os.X_OK):
                self.problem(key, f"{path} is not a readable directory")
            return path
        return self.writable_dir(path, key)

    def writable_dir(self, path: Path, key: KeyPath) -> Path:
        """Report ``path`` unless it is, or could be created as, a writable directory."""
        existing = path
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            self.problem(key, f"{path} cannot be created or written ({existing} is not writable)")
        return path


def _kind(value: Any) -> str:
    return {dict: "a table", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _interval(text: str) -> timedelta | None:
    """``"1h30m"`` -> 90 minutes; None when malformed or zero."""
    if not _INTERVAL_RE.match(text):
        return None
    seconds = sum(int(n) * INTERVAL_UNITS[u] for n, u in re.findall(r"(\d+)([dhms])", text))
    return timedelta(seconds=seconds) if seconds > 0 else None


def _schedule(c: _Checker, raw: dict[str, Any], path: KeyPath) -> Schedule:
    every = c.get(raw, path, "every", str, None)
    cron = c.get(raw, path, "cron", str, None)
    if every is not None and cron is not None:
        c.problem(path, "give either 'every' or 'cron', not both")
    if cron is not None:
        try:
            CronTrigger.from_crontab(cron)
        except ValueError as exc:
            c.problem((*path, "cron"), f"bad cron expression {cron!r}: {exc}")
        return Schedule(cron=cron)
    interval = _interval(every or "15m")
    if interval is None:
        c.problem((*path, "every"), f"bad interval {every!r} (use e.g. '90s', '15m', '1h30m')")
    return Schedule(every=interval or timedelta(minutes=15))


_SOURCE_KEYS = {"id", "url", "directory", "language", "every", "cron", "item_limit", "tags"}
_SOURCE_KEYS |= {"full_text", "include", "exclude", "translate"}


def _sources(c: _Checker, raw: Any, base: Path) -> tuple[SourceSettings, ...]:
    if raw is _MISSING:
        c.problem(("sources",), "at least one [[sources]] table is required")
        return ()
    if not isinstance(raw, list):
        c.problem(("sources",), "must be an array of tables ([[sources]])")
        return ()
    seen: set[str] = set()
    result = []
    for index, item in enumerate(raw):
        path: KeyPath = ("sources", index)
        table = c.table(item, path, _SOURCE_KEYS)
        source_id = c.get(table, path, "id", str, _MISSING) or f"#{index}"
        if "id" in table and not _ID_RE.match(source_id):
            c.problem((*path, "id"), f"{source_id!r} must be letters, digits, '-' or '_'")
        elif len(source_id) > SOURCE_ID_LENGTH:
            c.problem((*path, "id"), f"must be at most {SOURCE_ID_LENGTH} characters")
        if source_id in seen:
            c.problem((*path, "id"), f"duplicate source id {source_id!r}")
        seen.add(source_id)
        url = c.url(c.get(table, path, "url", str, None), (*path, "url"))
        directory = c.get(table, path, "directory", str, None)
        folder = (base / directory).resolve() if directory is not None else None
        if (url is None) == (directory is None):
            c.problem(path, "give exactly one of 'url' or 'directory'")
        elif folder is not None and not folder.is_dir():
            c.problem((*path, "directory"), f"{folder} is not a directory")
        language = c.get(table, path, "language", str, "auto")
        if language is not None and language != "auto":
            language = c.language(language, (*path, "language"))
        source = Source(
            id=source_id,
            url=url,
            directory=folder,
            language=None if language in (None, "auto") else language,
            item_limit=c.positive(table, path, "item_limit", None),
            full_text=c.get(table, path, "full_text", bool, False) is True,
        )
        schedule = _schedule(c, table, path)
        tags = _names(c, table, path, "tags")
        result.append(SourceSettings(source, schedule, _selection(c, table, path), tags))
    return tuple(result)


def _selection(c: _Checker, table: dict[str, Any], path: KeyPath) -> Selection:
    """``include``/``exclude`` (RE2 patterns, each compiled here so ``check`` names a bad one
    with its line) and ``translate`` (a subset of the translatable fields)."""
    patterns: dict[str, tuple[str, ...]] = {}
    for key in ("include", "exclude"):
        given = _strings(c, table, path, key)
        for pattern in given:
            if (error := pattern_error(pattern)) is not None:
                c.problem((*path, key), f"bad regular expression {pattern!r}: {error}")
        patterns[key] = given
    chosen = _strings(c, table, path, "translate", TRANSLATABLE_FIELDS)
    unknown = [name for name in chosen if name not in TRANSLATABLE_FIELDS]
    if unknown:
        known = ", ".join(repr(name) for name in TRANSLATABLE_FIELDS)
        c.problem((*path, "translate"), f"unknown field {unknown[0]!r} (known: {known})")
    elif not chosen:
        c.problem((*path, "translate"), "names no field; leave it out to translate all")
    translate = tuple(name for name in TRANSLATABLE_FIELDS if name in chosen)
    return Selection(patterns["include"], patterns["exclude"], translate or TRANSLATABLE_FIELDS)


def _strings(
    c: _Checker, table: dict[str, Any], path: KeyPath, key: str, default: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """An array of non-empty strings; ``default`` when absent or after a problem."""
    value = c.get(table, path, key, list, None)
    if value is None:
        return default
    if not all(isinstance(item, str) and item for item in value):
        c.problem((*path, key), "must be an array of non-empty strings")
        return default
    return tuple(value)


def _names(c: _Checker, table: dict[str, Any], path: KeyPath, key: str) -> tuple[str, ...]:
    """An array of ids or tags: strings of letters, digits, '-' and '_' (safe in URLs)."""
    raw = c.get(table, path, key, list, []) or []
    names = tuple(name for name in raw if isinstance(name, str) and _ID_RE.match(name))
    if len(names) != len(raw):
        c.problem((*path, key), "must be an array of strings of letters, digits, '-' or '_'")
    return names


_CHANNEL_KEYS = {"sources", "tags", "title", "description", "languages"}


def _channels(
    c: _Checker, raw: Any, sources: tuple[SourceSettings, ...], languages: set[str]
) -> tuple[ChannelSettings, ...]:
    """``[channels.<id>]``: listed sources and tagged ones, checked against ``[[sources]]``.

    A listed id no source has, and a tag no source carries, are errors rather than warnings:
    either is a typo that would publish a channel missing what the operator meant it to show.
    """
    known = [configured.source.id for configured in sources]
    carried = {tag for configured in sources for tag in configured.tags}
    result = []
    for channel_id, item in c.table(raw, ("channels",)).items():
        path: KeyPath = ("channels", channel_id)
        if not _ID_RE.match(channel_id):
            c.problem(path, f"channel id {channel_id!r} must be letters, digits, '-' or '_'")
        table = c.table(item, path, _CHANNEL_KEYS)
        listed = _names(c, table, path, "sources")
        tags = _names(c, table, path, "tags")
        for source_id in listed:
            if source_id not in known:
                c.problem((*path, "sources"), f"no source has id {source_id!r}")
        for tag in tags:
            if tag not in carried:
                c.problem((*path, "tags"), f"no source has tag {tag!r}")
        if not listed and not tags:
            c.problem(path, "give 'sources' or 'tags' (or both): a channel shows some sources")
        members = tuple(
            configured.source.id
            for configured in sources
            if configured.source.id in listed or set(configured.tags) & set(tags)
        )
        words = [("", _words(c, table, path))]
        for key, sub in c.table(table.get("languages", _MISSING), (*path, "languages")).items():
            sub_path: KeyPath = (*path, "languages", key)
            code = c.language(key, sub_path)
            if code not in languages:
                c.problem(sub_path, f"{code!r} is not one of the [languages]")
            words.append(
                (code, _words(c, c.table(sub, sub_path, {"title", "description"}), sub_path))
            )
        result.append(ChannelSettings(channel_id, members, tuple(words)))
    return tuple(result)


def _words(c: _Checker, table: dict[str, Any], path: KeyPath) -> ChannelWords:
    return ChannelWords(
        c.get(table, path, "title", str, None), c.get(table, path, "description", str, None)
    )


def _languages(c: _Checker, raw: Any) -> tuple[LanguageSettings, ...]:
    tables = c.table(raw, ("languages",))
    if not tables:
        c.problem(("languages",), "at least one target language ([languages.<code>]) is required")
    result = []
    seen: dict[str, str] = {}
    for key, item in tables.items():
        path: KeyPath = ("languages", key)
        code = c.language(key, path)
        if code in seen:
            c.problem(path, f"same language as [languages.{seen[code]}] ({code})")
        seen.setdefault(code, key)
        table = c.table(item, path, {"title", "description", *_NOTICES, *_BILINGUAL})
        result.append(
            LanguageSettings(
                code=code,
                title=c.get(table, path, "title", str, None),
                description=c.get(table, path, "description", str, None),
                **{key: _notice(c, table, path, key) for key in _NOTICES},
                bilingual=bool(c.get(table, path, "bilingual", bool, False)),
                bilingual_separator=_separator(c, table, path),
            )
        )
    return tuple(result)


#: The bilingual keys of a ``[languages.<code>]`` table.
_BILINGUAL = ("bilingual", "bilingual_separator")


def _separator(c: _Checker, table: dict[str, Any], path: KeyPath) -> str | None:
    """A separator readers can see: one of only spaces would run the two titles together, and
    a line break is not allowed in an RSS or Atom title."""
    separator: str | None = c.get(table, path, "bilingual_separator", str, None)
    if separator is not None and (not separator.strip() or "\n" in separator or "\r" in separator):
        c.problem((*path, "bilingual_separator"), "must be visible text on one line, like ' — '")
        return None
    return separator


#: The notice templates of a ``[languages.<code>]`` table (``LanguageSettings`` fields).
_NOTICES = ("notice", "notice_partial", "notice_original_text")


def _notice(c: _Checker, table: dict[str, Any], path: KeyPath, key: str) -> str | None:
    """A notice template whose every ``{...}`` is one ``notice_html`` fills: a typo such as
    ``{lang}`` would otherwise be printed literally on every translated item."""
    template: str | None = c.get(table, path, key, str, None)
    if template is None:
        return None
    allowed = " or ".join(f"{{{name}}}" for name in NOTICE_PLACEHOLDERS)
    try:
        fields = [f for f in string.Formatter().parse(template) if f[1] is not None]
    except ValueError as exc:
        c.problem((*path, key), f"malformed template ({exc}; use {allowed})")
        return None
    for _, name, spec, conversion in fields:
        if name not in NOTICE_PLACEHOLDERS or spec or conversion:
            written = (
                f"{name}{'!' if conversion else ''}{conversion or ''}{':' if spec else ''}{spec}"
            )
            c.problem((*path, key), f"unknown placeholder {{{written}}} (use {allowed})")
            return None
    return template


def _pair(c: _Checker, key: str, path: KeyPath) -> tuple[str, str]:
    """``"fr-en"`` or ``"pt-BR-en"``: the split where both halves are language codes."""
    parts = key.split("-")
    for cut in range(1, len(parts)):
        src, tgt = "-".join(parts[:cut]), "-".join(parts[cut:])
        try:
            Locale.parse(src, sep="-"), Locale.parse(tgt, sep="-")
            return normalize_language(src), normalize_language(tgt)
        except (UnknownLocaleError, RenderError, ValueError):
            continue
    c.problem(path, f"{key!r} is not a language pair like 'fr-en'")
    return key, key


def _glossaries(c: _Checker, raw: Any) -> tuple[GlossarySettings, ...]:
    result = []
    for key, item in c.table(raw, ("glossary",)).items():
        path: KeyPath = ("glossary", key)
        src, tgt = _pair(c, key, path)
        table = c.table(item, path, {"terms", "protected"})
        terms = c.table(table.get("terms", _MISSING), (*path, "terms"))
        for term, value in terms.items():
            if not isinstance(value, str) or not value.strip() or not term.strip():
                c.problem((*path, "terms", term), "terms must map a word to a non-empty string")
        protected = c.get(table, path, "protected", list, []) or []
        if not all(isinstance(word, str) and word.strip() for word in protected):
            c.problem((*path, "protected"), "must be an array of non-empty strings")
        pairs = tuple((k, v) for k, v in terms.items() if isinstance(v, str))
        words = tuple(w for w in protected if isinstance(w, str))
        result.append(GlossarySettings(src, tgt, pairs, words))
    return tuple(result)


def _partners(c: _Checker, raw: Any, environ: Mapping[str, str]) -> tuple[PartnerSettings, ...]:
    result = []
    for name, item in c.table(raw, ("partners",)).items():
        path: KeyPath = ("partners", name)
        table = c.table(item, path, {"token"})
        env_key = f"LINGOFEED_PARTNER_{name.upper().replace('-', '_')}_TOKEN"
        token = environ.get(env_key) or c.get(table, path, "token", str, "")
        if token is not None and len(token) < 16:
            c.problem((*path, "token"), f"needs a token of 16+ characters (or set {env_key})")
        result.append(PartnerSettings(name, token or ""))
    return tuple(result)


_TOP_KEYS = {"service", "output", "server", "models", "engine", "languages", "sources"}
_TOP_KEYS |= {"glossary", "partners", "workers", "channels"}


def _settings(c: _Checker, raw: dict[str, Any], environ: Mapping[str, str]) -> Settings:
    base = c.file.parent
    c.table(raw, (), _TOP_KEYS)
    svc_path: KeyPath = ("service",)
    svc = c.table(raw.get("service", _MISSING), svc_path, set(_SERVICE_KEYS))
    data_dir = (base / (c.get(svc, svc_path, "data_dir", str, "var") or "var")).resolve()
    c.writable_dir(data_dir, (*svc_path, "data_dir"))
    mod_path: KeyPath = ("models",)
    mod = c.table(raw.get("models", _MISSING), mod_path, {"directory", "index_url", "read_only"})
    models_dir = (
        base / (c.get(mod, mod_path, "directory", str, "") or data_dir / "models")
    ).resolve()
    index_url = c.url(c.get(mod, mod_path, "index_url", str, None), (*mod_path, "index_url"))
    index_url = index_url or environ.get("ARGOS_PACKAGE_INDEX") or ARGOS_INDEX
    default_db = f"sqlite:///{data_dir / 'lingofeed.sqlite'}"
    database_url = environ.get("LINGOFEED_DATABASE_URL") or c.get(
        svc, svc_path, "database_url", str, default_db
    )
    try:
        backend = sa.make_url(database_url or default_db).get_backend_name()
    except (sa.exc.ArgumentError, ValueError) as exc:  # neither message quotes the URL
        c.problem((*svc_path, "database_url"), f"not a database URL: {exc}")
    else:
        if backend not in DIALECTS:
            c.problem(
                (*svc_path, "database_url"),
                f"lingofeed stores its data in {' or '.join(DIALECTS)}, not {backend}",
            )
    out_path: KeyPath = ("output",)
    out = c.table(raw.get("output", _MISSING), out_path, set(_OUTPUT_KEYS))
    out_dir = (base / (c.get(out, out_path, "directory", str, "") or data_dir / "public")).resolve()
    base_url = c.url(c.get(out, out_path, "base_url", str, _MISSING), (*out_path, "base_url"))
    hub = c.url(c.get(out, out_path, "websub_hub", str, None), (*out_path, "websub_hub"))
    srv_path: KeyPath = ("server",)
    srv = c.table(raw.get("server", _MISSING), srv_path, {"host", "port", "public"})
    port = c.get(srv, srv_path, "port", int, 8080)
    if port is not None and not 0 <= port < 65536:
        c.problem((*srv_path, "port"), f"{port} is not a TCP port (0-65535, 0 = any free)")
    sources = _sources(c, raw.get("sources", _MISSING), base)
    languages = _languages(c, raw.get("languages", _MISSING))
    codes = {language.code for language in languages}
    return Settings(
        config_file=c.file,
        sources=sources,
        languages=languages,
        channels=_channels(c, raw.get("channels", _MISSING), sources, codes),
        channel_debounce=_duration(
            c, svc, svc_path, "channel_debounce", DEFAULT_CHANNEL_DEBOUNCE, zero=True
        ),
        glossaries=_glossaries(c, raw.get("glossary", _MISSING)),
        output=OutputSettings(
            directory=c.writable_dir(out_dir, (*out_path, "directory")),
            base_url=(base_url or "").rstrip("/") + "/",
            item_limit=c.positive(out, out_path, "item_limit", 50) or 50,
            websub_hub=hub,
            websub_attempts=c.positive(out, out_path, "websub_attempts", DEFAULT_WEBSUB_ATTEMPTS)
            or DEFAULT_WEBSUB_ATTEMPTS,
            websub_backoff=_duration(c, out, out_path, "websub_backoff", DEFAULT_WEBSUB_BACKOFF),
        ),
        server=ServerSettings(
            c.get(srv, srv_path, "host", str, "127.0.0.1") or "",
            port or 0,
            c.get(srv, srv_path, "public", bool, True) is not False,
        ),
        data_dir=data_dir,
        database_url=database_url or default_db,
        models=ModelSettings(
            c.usable_dir(models_dir, (*mod_path, "directory")),
            index_url,
            c.get(mod, mod_path, "read_only", bool, None),
        ),
        engine=_engine(c, raw.get("engine", _MISSING)),
        retention_days=c.positive(svc, svc_path, "retention_days", 30) or 30,
        partners=_partners(c, raw.get("partners", _MISSING), environ),
        retry_backoff=_duration(c, svc, svc_path, "retry_backoff", DEFAULT_RETRY_BACKOFF),
        allow_private_addresses=c.get(svc, svc_path, "allow_private_addresses", bool, False)
        is True,
        workers=_workers(c, raw.get("workers", _MISSING)),
    )


def _engine(c: _Checker, raw: Any) -> EngineSettings:
    """``[engine]`` as ``EngineSettings``; ``device = "cuda"`` where CTranslate2 sees no CUDA
    device is a problem here, at its line, rather than a failure of every batch later."""
    path: KeyPath = ("engine",)
    table = c.table(raw, path, set(ENGINE_KEYS))
    defaults = EngineSettings()
    values: dict[str, Any] = {}
    for key, field in ENGINE_KEYS.items():
        default = getattr(defaults, field)
        if isinstance(default, int):
            values[field] = c.positive(table, path, key, default) or default
            continue
        value = c.get(table, path, key, str, default)
        allowed = DEVICES if key == "device" else COMPUTE_TYPES
        if value is not None and value not in allowed:
            c.problem((*path, key), f"{value!r} is not one of {', '.join(allowed)}")
        values[field] = value if value in allowed else default
    device, compute_type = values["device"], values["compute_type"]
    if device == "cuda" and cuda_device_count() == 0:
        c.problem(
            (*path, "device"),
            '"cuda", but CTranslate2 sees no CUDA device on this machine (no GPU, driver or '
            'CUDA libraries); use "auto" (the GPU when there is one) or "cpu"',
        )
    elif compute_type not in ("default", "auto"):
        supported = supported_compute_types(device)
        if compute_type not in supported:
            c.problem(
                (*path, "compute_type"),
                f"{compute_type!r} does not run on device {device!r} here "
                f"(supported: {', '.join(sorted(supported))})",
            )
    return EngineSettings(**values)


def _duration(
    c: _Checker,
    table: dict[str, Any],
    path: KeyPath,
    key: str,
    default: timedelta,
    *,
    zero: bool = False,
) -> timedelta:
    """An interval key such as ``"30s"``; ``default`` when absent (or wrong: then a problem).
    With ``zero``, ``"0s"`` is allowed and means no wait."""
    text = c.get(table, path, key, str, None)
    if text is None:
        return default
    if zero and _INTERVAL_RE.match(text) and not any(int(n) for n in re.findall(r"\d+", text)):
        return timedelta()
    wait = _interval(text)
    if wait is None:
        examples = "'0s', '30s', '2m'" if zero else "'30s', '1m', '5m'"
        c.problem((*path, key), f"bad interval {text!r} (use e.g. {examples})")
    return wait or default


def _workers(c: _Checker, raw: Any) -> WorkerSettings:
    path: KeyPath = ("workers",)
    table = c.table(raw, path, set(WorkerSettings.__dataclass_fields__))
    defaults = WorkerSettings()
    return WorkerSettings(
        batch_segments=c.positive(table, path, "batch_segments", defaults.batch_segments)
        or defaults.batch_segments,
        stalled_after=_duration(c, table, path, "stalled_after", defaults.stalled_after),
        publish_debounce=_duration(c, table, path, "publish_debounce", defaults.publish_debounce),
    )


_SERVICE_KEYS: tuple[str, ...] = ("data_dir", "database_url", "retention_days", "retry_backoff")
_SERVICE_KEYS += ("allow_private_addresses", "channel_debounce")
_OUTPUT_KEYS: tuple[str, ...] = ("directory", "base_url", "item_limit", "websub_hub")
_OUTPUT_KEYS += ("websub_attempts", "websub_backoff")


def load_settings(file: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate ``file``; raise ConfigError listing every problem found."""
    file = Path(file).absolute()
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigProblem(file, 0, "", f"cannot read config: {exc}")]) from exc
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+), column (\d+)", str(exc))
        line = int(found.group(1)) if found else 1
        message = f"TOML syntax error: {exc}"
        raise ConfigError([ConfigProblem(file, line, "", message)]) from exc
    checker = _Checker(file, text)
    settings = _settings(checker, raw, os.environ if environ is None else environ)
    if checker.problems:
        raise ConfigError(sorted(checker.problems, key=lambda p: p.line))
    return settings
