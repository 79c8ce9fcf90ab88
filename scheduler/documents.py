"""What of an article is translated, and what of a translation is stored.

Pure helpers of the cycle (no I/O): an article becomes a ``Document`` of the fields a reader
sees, and a translation's HTML fields are sanitised again before they are kept.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from lingofeed.feeds.sanitize import sanitize_html
from lingofeed.feeds.types import Article
from lingofeed.scheduler.selection import EVERYTHING, Selection
from lingofeed.translations.types import DocField, Document, FieldKind, TranslatedDocument


def article_document(
    article: Article, declared: str | None = None, selection: Selection = EVERYTHING
) -> Document:
    """What a reader sees of an article, as fields the translation pipeline understands.

    The language is the source's ``declared`` one, else the item's own, else None (detect).
    Only the fields the source's ``translate`` names go in: the others cost no model work, and
    a translation that lacks a field shows it as written (``feeds.store.localize``).
    """
    data = article.data
    fields: dict[str, DocField] = {"title": DocField(data.title)}
    if data.summary:
        fields["summary"] = DocField(data.summary, FieldKind.HTML)
    if data.content:
        fields["content"] = DocField(data.content, FieldKind.HTML)
    for index, item in enumerate(data.media):
        if item.caption:
            fields[f"media.{index}.caption"] = DocField(item.caption)
        if item.alt:
            fields[f"media.{index}.alt"] = DocField(item.alt)
    chosen = {name: field for name, field in fields.items() if selection.translates(name)}
    return Document(document_key(article), chosen, language=declared or data.language)


def document_key(article: Article) -> str:
    return json.dumps([article.source_id, article.data.upstream_id])


def sanitized(
    result: TranslatedDocument, document: Document, base_url: str | None
) -> dict[str, str]:
    """The translated fields with HTML fields sanitised again before they are stored.

    Upstream HTML was sanitised on the way in; this second barrier covers whatever the
    translation and tag re-insertion produced (a model can emit any text). Plain-text fields
    are escaped by the renderer.
    """
    return {
        name: sanitize_html(text, base_url)
        if document.fields[name].kind is FieldKind.HTML
        else text
        for name, text in result.fields.items()
    }


def why(problems: Iterable[str]) -> str:
    """The pipeline's ``field: reason`` problems, one reason each with the fields it hit.

    A missing model fails every field for the same reason: ``title, summary: no installed
    model ...`` says it once. At most three reasons, then how many more.
    """
    fields_by_reason: dict[str, list[str]] = {}
    for problem in problems:
        name, colon, reason = problem.partition(": ")
        name, reason = (name, reason) if colon else ("", problem)
        fields_by_reason.setdefault(reason, []).append(name)
    listed = [
        f"{', '.join(names)}: {reason}" if all(names) else reason
        for reason, names in fields_by_reason.items()
    ]
    return "; ".join(listed[:3]) + (f" (+{len(listed) - 3} more)" if len(listed) > 3 else "")
