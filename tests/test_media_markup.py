"""Media and semantic markup the sanitiser keeps is translated where a reader sees it (title
attributes, fallback and element text), never in its URLs or datetimes: the real test model."""

from __future__ import annotations

from lingofeed.feeds.sanitize import sanitize_html
from lingofeed.translations.pipeline import TranslationPipeline
from lingofeed.translations.types import DocField, Document, FieldKind

CONVOY = "Le dernier convoi a quitté Gao en décembre."
CONVOY_EN = "The last convoy left Gao in December."
FLAG = "Des soldats devant le drapeau des Nations unies."
FLAG_EN = "Soldiers in front of the United Nations flag."
HANDOVER = "remet le camp de Tombouctou aux autorités maliennes"
HANDOVER_EN = "hands over the Timbuktu camp to the Malian authorities"


def test_media_fallback_titles_and_time_text_are_translated_urls_and_datetimes_kept(
    translator, memory
):
    pipeline = TranslationPipeline(translator, memory, languages=["fr", "en"])
    markup = sanitize_html(
        f'<video src="https://un.org/v.mp4" controls title="{FLAG}">'
        f'<source src="https://un.org/v.webm" type="video/webm">{CONVOY}</video>'
        f'<picture><source srcset="https://un.org/a.webp 1x"><img src="https://un.org/a.jpg"'
        f' srcset="https://un.org/b.jpg 2x" alt="{FLAG}"></picture>'
        f'<p>La <abbr title="{FLAG}">MINUSMA</abbr> {HANDOVER}</p>'
        f'<p><time datetime="2023-12-28">{CONVOY}</time></p>',
        "https://un.org/",
    )
    document = Document("a", {"content": DocField(markup, FieldKind.HTML)}, "fr")
    [english] = pipeline.translate([document], ["en"])
    assert english.complete, english.problems
    assert english.fields["content"] == (
        f'<video src="https://un.org/v.mp4" controls="" title="{FLAG_EN}">'
        f'<source src="https://un.org/v.webm" type="video/webm">{CONVOY_EN}</video>'
        f'<picture><source srcset="https://un.org/a.webp 1x"><img src="https://un.org/a.jpg"'
        f' srcset="https://un.org/b.jpg 2x" alt="{FLAG_EN}"></picture>'
        f'<p><abbr title="{FLAG_EN}">MINUSMA</abbr> {HANDOVER_EN}</p>'
        f'<p><time datetime="2023-12-28">{CONVOY_EN}</time></p>'
    )
