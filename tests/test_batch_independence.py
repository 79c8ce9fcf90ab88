"""A translation never depends on what else is in the batch (issue 11, item 1).

CTranslate2 4.8.5 at beam >= 2 returned another example's first-step attention as row 0 of a
hypothesis's attention, so the word alignment (and with it inline-tag placement and protected
tokens) changed with the batch: a cycle chunk and a resumed run gave different feeds. Here the
whole corpus, both ways, and HTML documents with inline tags and protected tokens go through the
pipeline as a cycle calls it, once all in one batch and once one document per call.
"""

from __future__ import annotations

from lingofeed.feeds.store import SqlTranslationMemory
from lingofeed.feeds.store.db import open_engine
from lingofeed.translations.pipeline import TranslationPipeline
from lingofeed.translations.testmodel import read_corpus
from lingofeed.translations.types import DocField, Document, FieldKind, TranslatedDocument

HTML = (
    '<p>Fermeture le 28/12 du <a href="https://example.org/camp">camp</a> de #Tombouctou.</p>',
    "<p><b>Engagés</b> à finaliser le processus de <i>liquidation</i> dans les délais.</p>",
    '<p>La <abbr title="Mission">MINUSMA</abbr> a pris fin le 31 décembre après dix ans.</p>',
    "<p>Le processus de liquidation a commencé le 1 janvier.</p>",
    '<p><a href="https://example.org/">Closure</a> on 28/12 of the #Timbuktu camp.</p>',
    "<p>UN peacekeepers leave <em>Mali</em> as MINUSMA ends after ten years</p>",
)


def _tagged(sentence: str) -> str:
    """``sentence`` as an HTML body with its middle word in ``<b>``: it needs an alignment."""
    words = sentence.split()
    middle = len(words) // 2
    words[middle] = f"<b>{words[middle]}</b>"
    return f"<p>{' '.join(words)}</p>"


def _documents() -> list[tuple[Document, str]]:
    documents: list[tuple[Document, str]] = []
    for number, pair in enumerate(read_corpus()):
        for language, target, sentence in (("fr", "en", pair[0]), ("en", "fr", pair[1])):
            fields = {
                "title": DocField(sentence),
                "content": DocField(_tagged(sentence), FieldKind.HTML),
            }
            documents.append((Document(f"{language}{number}", fields, language), target))
    for number, body in enumerate(HTML):
        fields = {"content": DocField(body, FieldKind.HTML)}
        documents.append((Document(f"html{number}", fields, None), "fr" if "the" in body else "en"))
    return documents


def _by_target(documents: list[tuple[Document, str]]) -> dict[str, list[Document]]:
    grouped: dict[str, list[Document]] = {}
    for document, target in documents:
        grouped.setdefault(target, []).append(document)
    return grouped


def test_corpus_and_html_translate_the_same_alone_and_in_one_batch(
    translator, memory, tmp_path
) -> None:
    documents = _documents()
    together: dict[str, TranslatedDocument] = {}
    batch = TranslationPipeline(translator, memory, languages=["fr", "en"])
    for target, group in _by_target(documents).items():
        together.update((done.key, done) for done in batch.translate(group, [target]))
    engine = open_engine(f"sqlite:///{tmp_path / 'alone.sqlite'}")
    try:
        alone = TranslationPipeline(
            translator, SqlTranslationMemory(engine), languages=["fr", "en"]
        )
        differ = [
            (document.key, dict(single.fields), dict(together[document.key].fields))
            for document, target in documents
            for single in alone.translate([document], [target])
            if single != together[document.key]
        ]
    finally:
        engine.dispose()
    assert not differ, f"{len(differ)} of {len(documents)} differ, first: {differ[:3]}"
