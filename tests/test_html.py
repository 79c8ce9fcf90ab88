"""HTML-aware translation: units extracted from markup, and markup re-applied to translations.

These tests give hand-written model outputs (with the alignment a model would give) to the
reassembly logic; ``test_html_model.py`` runs the same paths through the repo's real model.
"""

from __future__ import annotations

import lxml.html

from lingofeed.translations.glossary import Glossary
from lingofeed.translations.html import Rendering, extract, extract_text
from lingofeed.translations.types import AlignedTranslation


def out(text: str, *pairs: tuple[int, int]) -> AlignedTranslation:
    return AlignedTranslation(text, tuple(pairs))


def rebuild(markup: str, outputs: dict[str, AlignedTranslation], lang: str = "fr") -> str:
    job = extract(markup, lang)
    assert set(outputs) <= set(job.units), job.units
    rebuilt = job.rebuild({unit: Rendering(t) for unit, t in outputs.items()})
    assert rebuilt.problems == ()
    return rebuilt.text


def test_sentence_with_inline_tags_is_one_unit():
    job = extract('<p>Voir <a href="/r">le <em>rapport</em> complet</a> ici. Fin.</p>', "fr")
    assert job.units == ("Voir le rapport complet ici.", "Fin.")


def test_link_is_reapplied_around_its_aligned_words_with_attributes():
    markup = '<p>Voir <a href="/r" class="x" data-id="7">le rapport complet</a> ici.</p>'
    model = out("See here the full report.", (0, 0), (1, 2), (2, 4), (3, 3), (4, 1))
    assert rebuild(markup, {"Voir le rapport complet ici.": model}) == (
        '<p>See here <a href="/r" class="x" data-id="7">the full report</a>.</p>'
    )


def test_nested_tags_stay_nested_around_their_words():
    markup = "<p>Le <b>camp de <i>Tombouctou</i></b> ferme.</p>"
    model = out("The Timbuktu camp closes.", (0, 0), (1, 2), (3, 1), (4, 3))
    assert rebuild(markup, {"Le camp de Tombouctou ferme.": model}) == (
        "<p>The <b><i>Timbuktu</i> camp</b> closes.</p>"
    )


def test_tag_spanning_two_sentences_appears_once():
    markup = "<p><em>Un mot. Deux mots.</em> Fin.</p>"
    outputs = {
        "Un mot.": out("One word.", (0, 0), (1, 1)),
        "Deux mots.": out("Two words.", (0, 0), (1, 1)),
        "Fin.": out("End.", (0, 0)),
    }
    assert rebuild(markup, outputs) == "<p><em>One word. Two words.</em> End.</p>"


def test_unaligned_tag_wraps_an_exact_copy_of_its_words():
    markup = '<p>Le convoi a quitté <a href="/gao">Gao</a> hier.</p>'
    model = out("The convoy left Gao yesterday.")
    assert rebuild(markup, {"Le convoi a quitté Gao hier.": model}) == (
        '<p>The convoy left <a href="/gao">Gao</a> yesterday.</p>'
    )


def test_unaligned_tag_falls_back_to_its_proportional_position():
    markup = "<p>Un <b>deux</b> trois quatre.</p>"
    model = out("One two three four.")
    assert rebuild(markup, {"Un deux trois quatre.": model}) == "<p>One <b>two</b> three four.</p>"


def test_sibling_tags_aligned_to_the_same_word_are_both_kept():
    markup = '<p><a href="/1">Un</a> <a href="/2">deux</a> fin.</p>'
    model = out("Both end.", (0, 0), (1, 0), (2, 1))
    html = rebuild(markup, {"Un deux fin.": model})
    assert html.count('href="/1"') == 1 and html.count('href="/2"') == 1
    assert html == '<p><a href="/1">Both</a> <a href="/2"></a> end.</p>'


def test_inline_code_is_carried_over_verbatim():
    markup = "<p>Lancez <code>ls -l</code> maintenant.</p>"
    model = out("Run ls -L now.", (0, 0), (1, 1), (2, 2), (3, 3))
    assert rebuild(markup, {"Lancez ls -l maintenant.": model}) == (
        "<p>Run <code>ls -l</code> now.</p>"
    )


def test_image_inside_a_sentence_stays_next_to_its_neighbour_word():
    markup = '<p>Le drapeau <img src="f.png" alt="Un drapeau"> flotte.</p>'
    outputs = {
        "Le drapeau flotte.": out("The flag flies.", (0, 0), (1, 1), (2, 2)),
        "Un drapeau": out("A flag", (0, 0), (1, 1)),
    }
    assert rebuild(markup, outputs) == '<p>The flag <img src="f.png" alt="A flag"> flies.</p>'


def test_alt_title_and_figcaption_are_translated():
    markup = (
        '<figure><img src="c.jpg" alt="Des soldats."><figcaption title="Légende.">'
        "Le camp.</figcaption></figure>"
    )
    job = extract(markup, "fr")
    assert set(job.units) == {"Des soldats.", "Légende.", "Le camp."}
    outputs = {
        "Des soldats.": out("Soldiers.", (0, 0), (1, 0)),
        "Légende.": out("Caption.", (0, 0)),
        "Le camp.": out("The camp.", (0, 0), (1, 1)),
    }
    assert rebuild(markup, outputs) == (
        '<figure><img src="c.jpg" alt="Soldiers."><figcaption title="Caption.">'
        "The camp.</figcaption></figure>"
    )


def test_untouched_elements_give_no_units_and_stay_as_they_are():
    markup = (
        '<p translate="no">Garder ceci.</p><p class="a notranslate">Et <b>ceci</b>.</p>'
        "<pre>Bloc  de\n code.</pre><script>var a = 1;</script><style>p {}</style>"
        '<p>Traduire <span translate="no">Le Monde</span> ici.</p>'
    )
    job = extract(markup, "fr")
    assert job.units == ("Traduire Le Monde ici.",)
    model = out("Translate The World here.", (0, 0), (1, 1), (2, 2), (3, 3))
    html = rebuild(markup, {"Traduire Le Monde ici.": model})
    assert html.startswith(markup.split("<p>Traduire")[0])
    assert html.endswith('<p>Translate <span translate="no">Le Monde</span> here.</p>')


def test_escaped_markup_in_text_stays_escaped():
    markup = "<p>Écrire &lt;script&gt;alert(1)&lt;/script&gt; ici.</p>"
    job = extract(markup, "fr")
    assert job.units == ("Écrire <script>alert(1)</script> ici.",)
    model = out("Write <script>alert(1)</script> <b>here</b>.", (0, 0), (1, 1), (2, 3))
    html = rebuild(markup, {job.units[0]: model})
    assert "<script>" not in html and "<b>" not in html
    assert html == ("<p>Write &lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;here&lt;/b&gt;.</p>")


def test_nothing_rendered_returns_the_source_unchanged():
    markup = "<div>Le  camp.<br/><b>Fin</b></div>"
    rebuilt = extract(markup, "fr").rebuild({})
    assert rebuilt.text == markup and not rebuilt.translated


def test_line_break_separates_units():
    job = extract("<p>Première ligne<br>Deuxième ligne</p>", "fr")
    assert job.units == ("Première ligne", "Deuxième ligne")


def test_lost_protected_token_keeps_the_source_sentence_and_reports_it():
    job = extract("<p>Le 28/12 au camp. Fin.</p>", "fr")
    rebuilt = job.rebuild(
        {"Le 28/12 au camp.": Rendering(out("At camp.")), "Fin.": Rendering(out("End.", (0, 0)))}
    )
    assert rebuilt.text == "<p>Le 28/12 au camp. End.</p>"
    assert len(rebuilt.problems) == 1 and "28/12" in rebuilt.problems[0]


def test_empty_or_control_character_output_keeps_the_source_sentence():
    job = extract("<p>Le camp. Fin.</p>", "fr")
    rebuilt = job.rebuild(
        {"Le camp.": Rendering(out("")), "Fin.": Rendering(out("E\x00nd.", (0, 0)))}
    )
    assert rebuilt.text == "<p>Le camp. Fin.</p>"
    assert len(rebuilt.problems) == 2


def test_glossary_applies_inside_inline_tags():
    markup = '<p>Le camp de <a href="/t">Tombouctou</a> ferme.</p>'
    model = out("The Tombuctu camp closes.", (0, 0), (1, 2), (3, 1), (4, 3))
    job = extract(markup, "fr")
    glossary = Glossary({"Tombouctou": "Timbuktu"})
    rebuilt = job.rebuild({job.units[0]: Rendering(model, glossary)})
    assert rebuilt.text == '<p>The <a href="/t">Timbuktu</a> camp closes.</p>'


def test_plain_text_keeps_the_whitespace_between_sentences():
    job = extract_text("Le camp.\n\nFin.  Et après.", "fr")
    assert job.units == ("Le camp.", "Fin.", "Et après.")
    outputs = {
        "Le camp.": out("The camp.", (0, 0), (1, 1)),
        "Fin.": out("End.", (0, 0)),
        "Et après.": out("And after.", (0, 0), (1, 1)),
    }
    rebuilt = job.rebuild({u: Rendering(t) for u, t in outputs.items()})
    assert rebuilt.text == "The camp.\n\nEnd.  And after." and rebuilt.translated


def test_output_reparses_to_itself():
    markup = '<ul><li>Un <a href="/x">lien</a>.</li><li><em>Deux</em></li></ul>'
    outputs = {
        "Un lien.": out("A link.", (0, 0), (1, 1)),
        "Deux": out("Two", (0, 0)),
    }
    html = rebuild(markup, outputs)
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    again = "".join(lxml.html.tostring(child, encoding="unicode") for child in root)
    assert again == html == '<ul><li>A <a href="/x">link</a>.</li><li><em>Two</em></li></ul>'


def test_empty_list_item_keeps_its_end_tag_so_the_text_after_stays_outside():
    # libxml2 writes an empty <li> without its end tag, which would move "Camp." inside it.
    assert rebuild("<li></li>Camp.", {"Camp.": out("Camp.", (0, 0))}) == "<li></li>Camp."


def test_empty_element_inside_a_word_is_kept_after_that_word():
    assert rebuild(";<b></b>Gao;", {";Gao;": out(";Gao;", (0, 0))}) == ";Gao; <b></b>"
