"""What rendering needs besides the entries: the operator's settings, one ``FeedSettings`` per site.

Passed down explicitly to every format writer, so RSS, Atom, JSON Feed, index.html and OPML
agree on every URL and title. Contains no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from urllib.parse import urlsplit

from lingofeed.feeds.render.errors import RenderError
from lingofeed.feeds.render.languages import language_name, normalize_language

# babel has language names but no word for "News": a few defaults, English otherwise.
_NEWS_WORD = {"en": "News", "fr": "Actualités", "de": "Nachrichten", "es": "Noticias",
              "it": "Notizie", "pt": "Notícias", "nl": "Nieuws"}  # fmt: skip
_BILINGUAL_WORD = {"en": "bilingual", "fr": "bilingue", "de": "zweisprachig", "es": "bilingüe",
                   "it": "bilingue", "pt": "bilíngue", "nl": "tweetalig"}  # fmt: skip


def _word(words: Mapping[str, str], language: str) -> str:
    """``language``'s word from ``words`` (by primary subtag), else the English one."""
    return words.get(language.split("-")[0], words["en"])


@dataclass(frozen=True)
class LanguageMeta:
    """What an operator may configure for one language's feeds; None means the default."""

    title: str | None = None
    description: str | None = None
    #: Machine-translation notice; ``{language}`` is the original language's name and
    #: ``{link}`` becomes a link to the original. Plain text: it is escaped when rendered.
    notice: str | None = None
    #: Notice for an article written in this language where only some passages (a quoted
    #: caption, a foreign sentence) were machine translated; same placeholders and escaping.
    notice_partial: str | None = None
    #: Notice for a translated article whose text (content, else summary) is shown in the
    #: original language because its source does not translate it (``translate``).
    notice_original_text: str | None = None
    #: Publish a bilingual twin of every feed family in this language (``feeds.render.bilingual``).
    bilingual: bool = False
    #: Between a bilingual entry's translated title and its original; None means the default.
    bilingual_separator: str | None = None


@dataclass(frozen=True)
class FeedFamily:
    """One feed family (RSS, Atom with its RFC 5005 archives, JSON Feed) in every language.

    The default channel (every source, ``kind == ""``) lives at ``<lang>/feed.xml`` as it always
    has; a source's feeds under ``<lang>/sources/<id>/`` and a channel's under
    ``<lang>/channels/<id>/``. Ids are letters, digits, ``-`` and ``_`` (checked by the config),
    so the ``sources/`` and ``channels/`` levels keep them from ever meeting ``archive/`` or
    each other.
    """

    #: ``""`` (the default channel), ``SOURCE`` or ``CHANNEL``.
    kind: str = ""
    id: str = ""
    #: Source ids shown; None for the default channel (every configured source).
    sources: frozenset[str] | None = None
    #: Title and description per language (notices are the site's); None means the default.
    meta: Mapping[str, LanguageMeta] = field(default_factory=dict, hash=False)
    #: The bilingual twin (``twin``): the same entries, each block followed by its original,
    #: under ``<lang>/bilingual/`` in the languages that ask for it (``FeedSettings.bilingual``).
    bilingual: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("", SOURCE, CHANNEL) or bool(self.kind) != bool(self.id):
            raise RenderError(f"not a feed family: kind={self.kind!r} id={self.id!r}")
        meta = {normalize_language(code): value for code, value in self.meta.items()}
        object.__setattr__(self, "meta", meta)

    @property
    def key(self) -> str:
        """``""``, ``sources/<id>`` or ``channels/<id>`` (under ``bilingual/`` for a twin): the
        family's place in every language. ``bilingual`` is never an id's level, so a twin's
        files never meet another family's."""
        key = f"{self.kind}/{self.id}" if self.kind else ""
        return f"{BILINGUAL}/{key}".rstrip("/") if self.bilingual else key

    def path(self, language: str, name: str) -> str:
        """Path of ``name`` (``feed.xml``, ``archive/3.xml``) of this family in ``language``."""
        return f"{language}/{self.key}/{name}" if self.key else f"{language}/{name}"

    def twin(self) -> FeedFamily:
        """This family's bilingual twin."""
        return replace(self, bilingual=True)

    def shows(self, source_id: str) -> bool:
        return self.sources is None or source_id in self.sources


#: ``FeedFamily.kind`` of a source's own feeds and of an operator's channel.
SOURCE = "sources"
CHANNEL = "channels"
#: The level under a language that holds the bilingual twins (``<lang>/bilingual/feed.xml``).
BILINGUAL = "bilingual"
#: The all-sources feed family, published at ``<lang>/feed.xml`` etc.
DEFAULT_FEED = FeedFamily()
#: Between a bilingual entry's translated title and its original when none is configured.
DEFAULT_BILINGUAL_SEPARATOR = " — "


@dataclass(frozen=True)
class FeedSettings:
    """Everything rendering needs besides the entries; one per site, passed down explicitly."""

    #: Public URL the output directory is served at, e.g. ``https://news.example/feeds/``.
    base_url: str
    #: Every language published (source language and targets), BCP 47; order is display order.
    languages: tuple[str, ...]
    meta: Mapping[str, LanguageMeta] = field(default_factory=dict, hash=False)
    #: Entries in feed.xml and feed.json; atom.xml also keeps entries not yet archived.
    item_limit: int = 50
    #: Entries per RFC 5005 archive page; pages are only written once full, so they never change.
    archive_page_size: int = 100
    hub_url: str | None = None
    generator: str = "lingofeed"
    #: Feed author, required by Atom when entries have none.
    author: str = "lingofeed"
    #: Date part of the ``tag:`` URIs used as ids: a date the operator owned the host name.
    tag_date: str = "2024"
    #: Every source's and channel's feed family (the default channel is always published).
    families: tuple[FeedFamily, ...] = ()

    def __post_init__(self) -> None:
        if not self.base_url.endswith("/") or not urlsplit(self.base_url).hostname:
            raise RenderError(f"base_url must be an absolute URL ending in '/': {self.base_url!r}")
        if not self.languages:
            raise RenderError("languages: at least one language is needed")
        if self.item_limit < 1 or self.archive_page_size < 1:
            raise RenderError("item_limit and archive_page_size must be at least 1")
        tags = tuple(normalize_language(code) for code in self.languages)
        object.__setattr__(self, "languages", tags)
        meta = {normalize_language(code): value for code, value in self.meta.items()}
        object.__setattr__(self, "meta", meta)

    @property
    def host(self) -> str:
        """Host name of the public URL, the authority of every ``tag:`` id."""
        return urlsplit(self.base_url).hostname or ""

    def url(self, path: str) -> str:
        """Public URL of a published file, ``path`` relative to the output directory."""
        return self.base_url + path

    def title(self, language: str) -> str:
        """Feed title: configured, or "News (English)" in the language itself."""
        configured = self.meta.get(language, LanguageMeta()).title
        if configured:
            return configured
        return f"{_word(_NEWS_WORD, language)} ({language_name(language, language)})"

    def description(self, language: str) -> str:
        """Feed description: configured, or the title (RSS requires one)."""
        return self.meta.get(language, LanguageMeta()).description or self.title(language)

    def feed_title(self, family: FeedFamily, language: str) -> str:
        """A family's title: configured, else the site's title with the source or channel id;
        a bilingual twin's says so ("News (English): lemonde (bilingual)")."""
        configured = family.meta.get(language, LanguageMeta()).title
        if not configured:
            site = self.title(language)
            configured = f"{site}: {family.id}" if family.kind else site
        if family.bilingual:
            return f"{configured} ({_word(_BILINGUAL_WORD, language)})"
        return configured

    def feed_description(self, family: FeedFamily, language: str) -> str:
        """A family's description: configured, else its title (RSS requires one)."""
        if not family.kind:
            return self.description(language)
        configured = family.meta.get(language, LanguageMeta()).description
        return configured or self.feed_title(family, language)

    @property
    def all_families(self) -> tuple[FeedFamily, ...]:
        """The default channel first, then the configured channels and sources."""
        return (DEFAULT_FEED, *self.families)

    def bilingual(self, language: str) -> bool:
        """Whether ``language`` publishes the bilingual twins of its families."""
        return self.meta.get(language, LanguageMeta()).bilingual

    @cached_property
    def every_family(self) -> tuple[FeedFamily, ...]:
        """``all_families``, each followed by its bilingual twin when any language is bilingual
        (kept: the index, the OPML and the publisher ask for it per language)."""
        if not any(self.bilingual(language) for language in self.languages):
            return self.all_families
        return tuple(f for family in self.all_families for f in (family, family.twin()))

    def families_in(self, language: str) -> tuple[FeedFamily, ...]:
        """The families ``language`` publishes: every family, and their twins if bilingual."""
        return tuple(f for f in self.every_family if self.publishes(f, language))

    def publishes(self, family: FeedFamily, language: str) -> bool:
        """Whether ``family`` has feeds in ``language`` (a twin only where it is bilingual)."""
        return not family.bilingual or self.bilingual(language)

    def separator(self, language: str) -> str:
        """What a bilingual entry's title puts between the translation and the original."""
        configured = self.meta.get(language, LanguageMeta()).bilingual_separator
        return DEFAULT_BILINGUAL_SEPARATOR if configured is None else configured
