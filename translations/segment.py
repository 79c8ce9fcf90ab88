"""Offline sentence splitting, tuned for news text in the languages lingofeed translates.

The engine translates one sentence at a time, so every segment of every cycle passes through
here: it must be fast, import nothing heavy and never reach for the network.

Why a small rule-based splitter rather than a library (options measured in the engine notes):

- Argos's own MiniSBD downloads a model per language on first use, so it fails offline.
- spaCy ``blank(lang)`` + ``sentencizer`` needs no download, but importing spaCy costs about 5 s
  and 130 MB, and its rules split Spanish ``¿Qué pasa? ¡Nada!`` after the opening ``¿``.
- pysbd (~2k texts/s) and syntok are not dependencies of the project.

Over-splitting hurts translation (a model sees half a sentence); under-splitting only makes a
segment longer. So the rules here are conservative: a full stop, ``!``, ``?`` or ellipsis ends a
sentence only when whitespace follows (so ``3.5``, ``28/12``, URLs and e-mail addresses never
split) and the next word does not start in lower case (``e.g. here``, ``Quoi ? dit-il``). A full
stop after a known abbreviation of the language (``M.``, ``Dr.``, ``z.B.``, ``Sra.``), an
initial (``J.``, ``J.-P.``, ``U.S.``) or a German ordinal (``3. Oktober``) does not end a
sentence. Closing quotes and brackets stay with the sentence they close.

Sentences are returned as spans into the input, so the caller can put the exact whitespace
between sentences back after translating each one.
"""

from __future__ import annotations

import itertools
import re
from functools import cache

__all__ = ["sentence_spans", "split_sentences"]


def _words(words: str) -> frozenset[str]:
    """A set from a space-separated list, which keeps the long tables below readable."""
    return frozenset(words.split())


#: Titles and words that are abbreviated before a name or a noun in every language we handle.
_COMMON = _words(
    "dr dra prof st ste mr mrs ms mme mmes mlle mlles sr sra srta jr gen col lt sgt capt "
    "gov sen rep rev hr fr vs ca approx cf"
)
#: Abbreviations that stay inside a sentence, by language (lower case, without the full stop).
_BY_LANGUAGE: dict[str, frozenset[str]] = {
    "en": _words(
        "jan feb mar apr jun jul aug sep sept oct nov dec mt ft inc ltd co corp dept est fig al"
    ),
    "fr": _words(
        "mm pr me mgr st ste av bd boul env apr janv févr avr juil sept oct nov déc resp réf dir"
    ),
    "de": _words(
        "bzw vgl evtl ggf inkl ca nr str jh mio mrd tel abs bspw sog jan feb mär apr jun "
        "jul aug sep sept okt nov dez hrsg dipl ing"
    ),
    "es": _words(
        "sres srs dña dn ud uds vd vds lic ing arq pág núm p ej aprox ene feb abr jun "
        "jul ago sept oct dic"
    ),
    "it": _words(
        "sig sigg sigra dott dottssa avv ing on pag gen feb mar apr giu lug ago set ott nov dic"
    ),
    "pt": _words("sras exmo exma dna pág núm fev abr mai jun jul ago set out nov dez"),
}
#: Abbreviations that stay inside a sentence only when a number follows (``No. 5``, ``p. 12``).
_BEFORE_NUMBER = _words("no nos nr nº n° p pp art vol fig tel ch sec")

#: A run of sentence-ending punctuation, the quotes and brackets it closes, then whitespace.
#: French puts a (narrow) no-break space before the closing guillemet: ``« Bonjour. »``.
_CANDIDATE = re.compile(
    r"(?P<end>[.!?…‼⁇⁈⁉]+)"
    r"(?P<close>(?:[»\u201d\u201c\u2019\u2018\"')\]}]|[ \u00a0\u202f]»)*)"
    r"(?P<gap>\s+)"
)
#: Characters that open the next sentence; skipped to find its first letter.
_OPENERS = "\"'«\u201c\u2018\u201e\u201a([{¿¡-\u2013\u2014"
#: Initials and dotted abbreviations: ``J.``, ``J.-P.``, ``U.S.``, ``z.B.``, ``p.m.``.
_INITIALS = re.compile(r"(?:[^\W\d_]\.)|(?:[^\W\d_]{1,2}\.-?){2,}")
#: A blank line always separates sentences (paragraphs in plain-text fields).
_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n\s*")


@cache
def _abbreviations(lang: str) -> frozenset[str]:
    """Abbreviations for ``lang`` (its primary subtag); unknown languages get the common set."""
    primary = lang.lower().replace("_", "-").split("-", 1)[0]
    return _COMMON | _BY_LANGUAGE.get(primary, frozenset())


def _is_german(lang: str) -> bool:
    return lang.lower().startswith("de")


def _previous_word(text: str, end: int) -> str:
    """The whitespace-delimited word ending at ``end``, without opening quotes or brackets."""
    start = end
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return text[start:end].lstrip(_OPENERS)


def _next_letter(text: str, start: int) -> str:
    """The first character of the next sentence after its opening quotes; '' at the end."""
    for char in text[start:]:
        if char not in _OPENERS and not char.isspace():
            return char
    return ""


def _ends_sentence(text: str, match: re.Match[str], lang: str) -> bool:
    """Whether the candidate ``match`` (punctuation + closers + whitespace) ends a sentence."""
    following = _next_letter(text, match.end())
    if not following or following.islower():
        return False
    if match.group("end") != "." or match.group("close"):
        return True
    word = _previous_word(text, match.start())
    if not word:
        return True
    if _INITIALS.fullmatch(word + ".") and (len(word) > 1 or word.isupper()):
        return False
    # French and Italian elide articles onto the abbreviation: l'art. 3, dell'avv. Rossi.
    folded = re.split(r"['\u2019]", word)[-1].lower().replace(".", "")
    if folded in _abbreviations(lang):
        return False
    if folded in _BEFORE_NUMBER and following.isdigit():
        return False
    return not (_is_german(lang) and word.isdigit() and len(word) <= 2)


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    """``(start, end)`` without surrounding whitespace, or None when only whitespace is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def sentence_spans(text: str, lang: str) -> list[tuple[int, int]]:
    """``(start, end)`` offsets of each sentence in ``text``, in order, without outer whitespace.

    ``lang`` is a BCP 47 tag (``fr``, ``pt-BR``); languages without their own abbreviation list
    still split on punctuation with the common rules. Everything between two spans is whitespace.
    """
    cuts = [0]
    for match in _CANDIDATE.finditer(text):
        if _ends_sentence(text, match, lang):
            cuts.append(match.start("gap"))
    for match in _PARAGRAPH.finditer(text):
        cuts.append(match.start())
    cuts.append(len(text))
    cuts.sort()
    spans = []
    for start, end in itertools.pairwise(cuts):
        span = _trimmed(text, start, end)
        if span is not None:
            spans.append(span)
    return spans


def split_sentences(text: str, lang: str) -> list[str]:
    """The sentences of ``text`` (see ``sentence_spans``), without outer whitespace."""
    return [text[start:end] for start, end in sentence_spans(text, lang)]
