"""Which of a source's items are published, and which of their fields are translated.

A source's ``include``/``exclude`` filters and its ``translate`` field choice are decided at
translation time, from the stored original, never at fetch time: every item upstream lists is
stored whatever the filters say. A filtered item gets a ``filtered`` translation row instead of a
translation (no model work; the feeds leave it out), and the selection is part of the item's
translation context, so editing a filter or the field choice re-evaluates the source's items on
the next cycle or reload: an item a filter edit lets through is translated and appears, because
nothing was thrown away.

Patterns are RE2 (google-re2): matching is linear in the input whatever the pattern, so neither
a hostile pattern in the config nor a hostile item upstream can hang the cycle the way a
backtracking ``re`` pattern such as ``(a+)+$`` can.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import re2

from lingofeed.feeds.sanitize import plain_text
from lingofeed.feeds.types import EntryData
from lingofeed.scheduler.contexts import fingerprint

#: The fields ``translate = [...]`` may name, in document order; the default is all of them.
TRANSLATABLE_FIELDS = ("title", "summary", "content", "media")


@dataclass(frozen=True)
class Selection:
    """A source's filters and field choice (``include``, ``exclude``, ``translate``)."""

    #: RE2 patterns; an item is kept only if one matches (when any are given).
    include: tuple[str, ...] = ()
    #: RE2 patterns; an item any of them matches is left out.
    exclude: tuple[str, ...] = ()
    #: The fields translated, in ``TRANSLATABLE_FIELDS`` order; the others keep the original.
    translate: tuple[str, ...] = TRANSLATABLE_FIELDS

    def keeps(self, data: EntryData) -> bool:
        """Whether the item is published: some include matches (if any) and no exclude does.

        Matched case-insensitively against the text a reader reads (title, summary, content,
        without markup), so a pattern never matches a tag name or an attribute.
        """
        if not self.include and not self.exclude:
            return True
        text = item_text(data)
        if self.include and not any(_compiled(p).search(text) for p in self.include):
            return False
        return not any(_compiled(p).search(text) for p in self.exclude)

    def translates(self, field: str) -> bool:
        """Whether a document field (``title``, ``content``, ``media.0.caption``) is translated."""
        return field.split(".")[0] in self.translate

    def context(self, language_context: str) -> str:
        """The translation context of this source's items: the language's own (glossary and
        models) when nothing is selected, so existing translations stay current, else one
        that changes with the filters and the field choice."""
        if self == EVERYTHING:
            return language_context
        return fingerprint(language_context, self.include, self.exclude, self.translate)


#: No filters, every field translated: what a source without these keys gets.
EVERYTHING = Selection()


def item_text(data: EntryData) -> str:
    """Title, summary and content as plain text, one per line: what filters match."""
    return "\n".join([data.title, plain_text(data.summary or ""), plain_text(data.content or "")])


def pattern_error(pattern: str) -> str | None:
    """Why RE2 refuses ``pattern`` (for ``lingofeed check``), or None when it compiles."""
    try:
        _compiled(pattern)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    return None


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> Any:
    """``pattern`` compiled once, case-insensitive; RE2 logs nothing itself (we report)."""
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    return re2.compile(pattern, options)
