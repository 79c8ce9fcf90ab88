"""Glossary terms and protected tokens, enforced on one translated sentence through its alignment.

Why after the model rather than before (placeholders, forced decoding): the translation memory
stores the model's raw output, so a glossary change must never invalidate model work, and small
models mangle placeholder tokens. So the model translates the plain sentence, and this module
fixes the output word by word, using the alignment to find *where* a source word went.

Rules (decided here, tested in ``tests/test_glossary.py``):

- A term matches as a whole word: not preceded or followed by a letter, digit or ``_``. So
  ``Tombouctou,`` and ``#Tombouctou`` match (``#Tombouctou`` becomes ``#Timbuktu``), and
  ``Tombouctous`` does not. Multi-word terms match across any whitespace. Matching is
  case-sensitive unless the glossary says otherwise; the replacement is always written as given.
- Where the model already wrote the target term for an occurrence, nothing changes. Otherwise the
  target words aligned to the source term are replaced by the target term, keeping the
  punctuation around them (``Tombouctou,`` -> ``Timbuktu,``). With no alignment, a verbatim copy
  of the source term is replaced; failing that, the word at the proportional position.
- A protected term (``MINUSMA``) is a term that translates to itself.
- A sentence with no letter outside its protected tokens (``#Tombouctou``, ``28/12``) is never
  given to the model (``has_words_to_translate``); it is kept, with the glossary applied.
- URLs, e-mail addresses, numbers and dates (``28/12``, ``3,5``, ``12 000``), ``#hashtags`` and
  ``@mentions`` are protected tokens: if the model lost or altered one, it is restored over its
  aligned target words. A number counts as present when the translation has it in the source's
  or the target language's format (``12,000`` in English is ``12 000`` in French:
  ``translations.numbers``); the model's writing is then kept. Without an alignment to restore
  from, the sentence is reported as a problem, and the caller keeps the source sentence.
  Protected tokens are restored before glossary terms are applied, so a glossary term inside a
  hashtag still changes. ALL-CAPS acronyms are protected tokens too; another acronym in the
  translation stands for one (``ONU`` is the French ``UN``), and a glossary term translates one.
- Asides are what is not words at all: emoji and symbols, bidi marks, runs in another script
  than the sentence's language, markup shown as text, bracketed credits. The model never sees
  them (``shield``: a small model drops them or turns the sentence into another one); they are
  put back in place from the alignment (``Shielded.restore``) before anything else is enforced.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from lingofeed.translations.langdetect import primary_language
from lingofeed.translations.numbers import NUMBER_GROUPED, NumberFormat, number_format
from lingofeed.translations.types import AlignedTranslation

__all__ = [
    "ACRONYM",
    "Enforced",
    "Glossary",
    "Shielded",
    "enforce",
    "has_words_to_translate",
    "needs_alignment",
    "protected_tokens",
    "shield",
]

#: ALL-CAPS acronyms (``UNICEF``, ``COVID-19``): two capitals at least, no lower case.
ACRONYM = re.compile(r"(?<![\w-])(?=[A-Z\d]*[A-Z][A-Z\d]*[A-Z])[A-Z][A-Z\d]+(?:-\d+)?(?![\w-])")
#: URLs, e-mail addresses, @mentions, #hashtags, numbers, times and dates, then acronyms.
_PROTECTED = re.compile(
    r"(?:https?|ftp)://[^\s<>\"]*[^\s<>\".,;:!?)\]}'»]"
    r"|www\.[^\s<>\"]*[^\s<>\".,;:!?)\]}'»]"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|(?<![\w@])@\w+"
    r"|(?<![\w&#])#\w+"
    r"|(?<!\w)\d+(?:[.,:/-]\d+)*(?!\w)"
    r"|" + ACRONYM.pattern
)
#: Protected tokens as enforcement reads them: also numbers grouped with spaces (``12 000``).
_TOKENS = re.compile(NUMBER_GROUPED + "|" + _PROTECTED.pattern)
_LOWER = re.compile(r"[^\W\d_A-Z]")
_WORDS = re.compile(r"\S+")

#: Emoji and symbols (``🌍``, ``©``, ``™``, ``→``) with what modifies or joins them (skin tones,
#: variation selectors, zero-width joiners, keycaps, tag sequences): one aside per sequence.
_SYMBOL = (
    "\u00a9\u00ae\u203c\u2049\u2100-\u214f\u2190-\u21ff\u2300-\u23ff\u2460-\u24ff"
    "\u25a0-\u27bf\u2900-\u297f\u2b00-\u2bff\u3030\u303d\u3297\u3299\U0001f000-\U0001faff"
)
_CLOSING_CHARS = frozenset(".,;:!?…\"'»\u201d\u2019)]}")
_MODIFIER = "\ufe0e\ufe0f\u200d\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f"
#: Bidirectional marks and isolates: invisible, but they decide how a reader's screen orders
#: the text around them.
_BIDI = "\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069"
#: What is not words, whatever the language: emoji and symbols, bidi marks, markup shown as
#: text (``<script>alert(1)</script>``, ``]]>``, a lone ``&``) and a bracketed credit.
_ASIDES = re.compile(
    rf"[#*0-9]\ufe0f?\u20e3|[{_SYMBOL}][{_SYMBOL}{_MODIFIER}]*|[{_BIDI}]+"
    r"|<([A-Za-z][\w-]*)\b[^<>]*>[^<>]*</\1\s*>|</?[A-Za-z!?][^<>]*>|\]\]>|<!\[CDATA\["
    r"|(?<!\S)&(?!\S)|&#?\w+;"
    r"|[(\[](?:photos?\s*)?(?:credits?|crédits?|créditos?|foto|photo|source|quelle|bild)"
    r"\s*:[^()\[\]]*[)\]]",
    re.IGNORECASE,
)
#: Letters by script, for runs in another script than the sentence's language (an Arabic name
#: inside French): the model of that language does not know them and drops them.
_SCRIPTS = {
    "arabic": "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufefc",
    "hebrew": "\u0590-\u05ff\ufb1d-\ufb4f",
    "cyrillic": "\u0400-\u052f",
    "greek": "\u0370-\u03ff\u1f00-\u1fff",
    "cjk": "\u1100-\u11ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af",
    "devanagari": "\u0900-\u097f",
    "thai": "\u0e00-\u0e7f",
}
#: Languages not written in the Latin script (every other language is).
_SCRIPT_OF = {
    **dict.fromkeys(("ar", "fa", "ur", "ps", "ug", "sd", "ckb"), "arabic"),
    **dict.fromkeys(("he", "yi"), "hebrew"),
    **dict.fromkeys(("ru", "uk", "be", "bg", "sr", "mk", "kk", "ky", "tg", "mn"), "cyrillic"),
    "el": "greek",
    **dict.fromkeys(("zh", "ja", "ko"), "cjk"),
    **dict.fromkeys(("hi", "mr", "ne", "sa"), "devanagari"),
    "th": "thai",
}


@lru_cache(maxsize=64)
def _foreign_runs(language: str) -> re.Pattern[str]:
    """Runs of letters in another script than ``language``'s (Latin letters excepted: every
    model copies names and brands written in them), with the spaces and marks between."""
    own = _SCRIPT_OF.get(primary_language(language))
    letters = "".join(ranges for script, ranges in _SCRIPTS.items() if script != own)
    return re.compile(rf"[{letters}](?:[{letters}{_BIDI}\s\u064b-\u065f.,'\u2019-]*[{letters}])?")


@dataclass(frozen=True)
class _Aside:
    """One aside of a sentence: its text, whether it touched the text before and after it,
    where it was taken out of the model's text, and the sentence words it covers."""

    text: str
    glued_before: bool
    glued_after: bool
    at: int
    words: tuple[int, ...]


@dataclass(frozen=True)
class Shielded:
    """A sentence as the model sees it (``text``: asides taken out) and how to put them back.

    Asides are what no model can translate and small ones drop: emoji, symbols, bidi marks,
    runs in another script, markup shown as text, credits. The model never sees them (it
    would only be led astray: a tiny model turns a sentence with an emoji into another
    sentence); ``restore`` puts each one back where it was, beside the target words aligned
    with its neighbour, as a separate word or glued to it as in the source. At the start or
    the end of a sentence no alignment is needed; in the middle, with no alignment, an aside
    goes to its proportional position (never lost).
    """

    sentence: str
    text: str
    asides: tuple[_Aside, ...] = ()
    #: Sentence word indices of each word of ``text`` (a word may span an aside: ``ferme 🎉.``).
    word_map: tuple[tuple[int, ...], ...] = ()

    @property
    def needs_alignment(self) -> bool:
        """Whether an aside sits between words (placing it uses the word alignment)."""
        return any(0 < aside.at < len(self.text) for aside in self.asides)

    def restore(self, translation: AlignedTranslation) -> AlignedTranslation:
        """The translation of ``text`` as one of ``sentence``: asides back, alignment mapped."""
        if not self.asides:
            return translation
        return _Restorer(self, translation).result()


def _aside_spans(sentence: str, language: str) -> list[tuple[int, int]]:
    """Merged ``(start, end)`` of the asides of ``sentence``; one inside a word is left alone."""
    found = sorted(
        [m.span() for m in _ASIDES.finditer(sentence)]
        + [m.span() for m in _foreign_runs(language).finditer(sentence)]
    )
    spans: list[tuple[int, int]] = []
    for start, end in found:
        if spans and (start <= spans[-1][1] or sentence[spans[-1][1] : start].isspace()):
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
    return [
        (start, end)
        for start, end in spans
        if not (sentence[start - 1 : start].isalnum() and sentence[end : end + 1].isalnum())
    ]


def _cut(sentence: str, start: int, end: int) -> tuple[int, int]:
    """What goes with the aside at ``[start, end)``: the space before it when it stands apart
    (or before closing punctuation: ``ferme 🎉.``), the space after it at the very start, or
    none when it is glued to a word (``camp🎉 de``, a bidi mark around ``Gao``)."""
    after = sentence[end : end + 1]
    if sentence[start - 1 : start] == " " and (after in ("", " ") or after in _CLOSING_CHARS):
        return start - 1, end
    if start == 0 and after == " ":
        return start, end + 1
    return start, end


@lru_cache(maxsize=4096)
def shield(sentence: str, language: str) -> Shielded:
    """``sentence`` (words joined by single spaces) without its asides, for a model of
    ``language``. An aside goes with the space before it (else the one after), so the text
    left is spaced as the sentence was (``ferme 🎉.`` -> ``ferme.``)."""
    spans = _aside_spans(sentence, language)
    if not spans:
        return Shielded(sentence, sentence)
    kept: list[int] = []  # sentence index of each character of the model's text
    edges: list[tuple[int, int, int]] = []  # (start, end, characters kept before)
    position = 0
    for start, end in spans:
        cut_start, cut_end = _cut(sentence, start, end)
        kept.extend(range(position, max(position, cut_start)))
        edges.append((start, end, len(kept)))
        position = max(position, cut_end)
    kept.extend(range(position, len(sentence)))
    text = "".join(sentence[i] for i in kept)
    word_of = [0] * (len(sentence) + 1)
    for index, match in enumerate(_WORDS.finditer(sentence)):
        for i in range(match.start(), match.end()):
            word_of[i] = index
    word_map = tuple(
        tuple(sorted({word_of[kept[i]] for i in range(m.start(), m.end())}))
        for m in _WORDS.finditer(text)
    )
    asides = tuple(
        _Aside(
            sentence[start:end],
            start > 0 and sentence[start - 1] != " ",
            end < len(sentence) and sentence[end] != " ",
            at,
            tuple(sorted({word_of[i] for i in range(start, end) if sentence[i] != " "})),
        )
        for start, end, at in edges
    )
    return Shielded(sentence, text, asides, word_map)


class _Restorer:
    """Builds a shielded sentence's translation with its asides put back."""

    def __init__(self, shielded: Shielded, translation: AlignedTranslation) -> None:
        self.shielded = shielded
        self.slots = translation.text.split()
        self.alignment = translation.alignment
        self.words = len(_WORDS.findall(shielded.text))
        # Per target slot: text glued inside its punctuation and after it, asides as words
        # before and after it.
        self.prefix = [""] * len(self.slots)
        self.suffix = [""] * len(self.slots)
        self.tail = [""] * len(self.slots)
        self.before: list[list[_Aside]] = [[] for _ in self.slots]
        self.after: list[list[_Aside]] = [[] for _ in self.slots]
        self.start: list[_Aside] = []
        self.end: list[_Aside] = []

    def aligned(self, word: int) -> list[int]:
        return sorted({t for s, t in self.alignment if s == word and 0 <= t < len(self.slots)})

    def place(self, aside: _Aside) -> None:
        """Where ``aside`` goes: at an end, or beside the target words of its neighbour."""
        text, at = self.shielded.text, aside.at
        if not self.slots or at >= len(text):
            self.end.append(aside)
        elif at == 0:
            self.start.append(aside)
        elif text[at] != " " and not _WORD_CHAR.search(text, at):  # ``décembre 🎉.``
            self.suffix[-1] += ("" if aside.glued_before else " ") + aside.text
        elif text[at - 1] == " ":  # just before a word: beside that word's first target
            word = text.count(" ", 0, at)
            targets = self.aligned(word)
            if not targets:
                self.proportional(aside, word)
            elif aside.glued_after:
                self.prefix[targets[0]] += aside.text
            else:
                self.before[targets[0]].append(aside)
        else:  # just after a word, or inside it (before its punctuation: ``ferme 🎉.``)
            word = text.count(" ", 0, at)
            inside = text[at] != " "
            targets = self.aligned(word)
            if not targets:
                self.proportional(aside, word + 1)
            elif inside:
                gap = "" if aside.glued_before else " "
                self.suffix[targets[-1]] += gap + aside.text + ("" if aside.glued_after else " ")
            elif aside.glued_before:
                self.tail[targets[-1]] += aside.text
            else:
                self.after[targets[-1]].append(aside)

    def proportional(self, aside: _Aside, word: int) -> None:
        slot = word * len(self.slots) // max(1, self.words)
        (self.before[slot] if slot < len(self.slots) else self.end).append(aside)

    def result(self) -> AlignedTranslation:
        for aside in self.shielded.asides:
            self.place(aside)
        out: list[str] = []
        pairs: list[tuple[int, int]] = []

        def add(aside: _Aside, glued: bool) -> None:
            parts = aside.text.split()
            for k, part in enumerate(parts):
                if glued and out and k == 0:
                    out[-1] += part
                    continue
                same = len(parts) == len(aside.words)
                covered = aside.words[k : k + 1] if same else aside.words
                pairs.extend((s, len(out)) for s in covered)
                out.append(part)

        for aside in self.start:
            add(aside, False)
        glue_start = bool(self.start and self.start[-1].glued_after and self.slots)
        index: dict[int, int] = {}
        for t, slot in enumerate(self.slots):
            for aside in self.before[t]:
                add(aside, False)
            index[t] = len(out)
            edged = _with_edges(self.prefix[t], slot, self.suffix[t].rstrip()) + self.tail[t]
            words = edged.split()
            if glue_start and t == 0:
                out[-1] += words.pop(0) if words else ""
                index[t] -= 1
            out.extend(words)
            for aside in self.after[t]:
                add(aside, False)
        for aside in self.end:
            add(aside, aside.glued_before)
        word_map = self.shielded.word_map
        for s, t in self.alignment:
            if 0 <= s < len(word_map) and t in index:
                pairs.extend((w, index[t]) for w in word_map[s])
        ordered = sorted(set(pairs), key=lambda pair: (pair[1], pair[0]))
        return AlignedTranslation(" ".join(out), tuple(ordered))


def _with_edges(prefix: str, slot: str, suffix: str) -> str:
    """``slot`` with ``prefix`` after its opening and ``suffix`` before its closing punctuation."""
    if not prefix and not suffix:
        return slot
    lead = _match_text(OPENING, slot)
    trail = _match_text(CLOSING, slot[len(lead) :])
    core = slot[len(lead) : len(slot) - len(trail)]
    return lead + prefix + core + suffix + trail


_LETTER = re.compile(r"[^\W\d_]")
_WORD_CHAR = re.compile(r"\w")
#: Opening and closing punctuation around a word (quotes, brackets, full stops), which stays
#: outside whatever is written into or around that word (a term, an inline element).
OPENING = re.compile("^[\"'«\u201c\u2018(\\[{¿¡]+")
CLOSING = re.compile("[.,;:!?…\"'»\u201d\u2019)\\]}]+$")
_LEADING_PUNCTUATION = re.compile(r"^[^\w\s]+")
_TRAILING_PUNCTUATION = re.compile(r"[^\w\s]+$")


@dataclass(frozen=True)
class Glossary:
    """The terms of one language pair.

    ``terms`` maps a source term to the target term that must replace it; ``protected`` terms
    must come out exactly as they went in.
    """

    terms: Mapping[str, str] = field(default_factory=dict)
    protected: Sequence[str] = ()
    case_sensitive: bool = True

    def __post_init__(self) -> None:
        for source, target in self.terms.items():
            if not source.strip() or not target.strip():
                raise ValueError(f"glossary term {source!r} -> {target!r}: empty side")
        for term in self.protected:
            if not term.strip():
                raise ValueError("glossary: empty protected term")

    def fingerprint(self) -> str:
        """A stable hash of the rules, so a cycle can tell that a glossary changed."""
        payload = json.dumps(
            {
                "terms": sorted(self.terms.items()),
                "protected": sorted(set(self.protected)),
                "case_sensitive": self.case_sensitive,
            },
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]

    @cached_property
    def rules(self) -> tuple[tuple[re.Pattern[str], str], ...]:
        """``(source pattern, replacement)``, longest terms first so they win over their parts."""
        pairs = {**{term: term for term in self.protected}, **dict(self.terms)}
        flags = 0 if self.case_sensitive else re.IGNORECASE
        ordered = sorted(pairs.items(), key=lambda item: -len(item[0]))
        return tuple((term_pattern(source, flags), target) for source, target in ordered)


def term_pattern(term: str, flags: int = 0) -> re.Pattern[str]:
    """A whole-word pattern for ``term``; its words may be separated by any whitespace."""
    body = r"\s+".join(re.escape(word) for word in term.split())
    return re.compile(rf"(?<!\w){body}(?!\w)", flags)


@lru_cache(maxsize=8192)
def _source_tokens(sentence: str) -> tuple[re.Match[str], ...]:
    """The protected tokens of a source sentence. In a sentence of several capitalised words
    and no lower-case letter (an all-caps headline) they are words to translate, not
    acronyms. Cached: the pipeline asks for each sentence several times (model text, kept
    text, enforcement)."""
    matches = tuple(_TOKENS.finditer(sentence))
    acronyms = [match for match in matches if ACRONYM.fullmatch(match.group())]
    if len(acronyms) > 1 and _LOWER.search(sentence) is None:
        return tuple(match for match in matches if match not in acronyms)
    return matches


def protected_tokens(text: str) -> list[str]:
    """The URLs, addresses, mentions, hashtags, numbers and acronyms of ``text``, in order."""
    return _PROTECTED.findall(text)


@lru_cache(maxsize=8192)
def has_words_to_translate(sentence: str) -> bool:
    """Whether a letter is left once protected tokens and asides are taken out of ``sentence``.

    A sentence that is only hashtags, mentions, URLs, addresses, numbers, acronyms, asides
    (emoji, a credit) and punctuation (``#Tombouctou``, ``28/12 @minusma``, ``UNICEF 🎉``) has
    nothing for a model to translate, and a small model handed one invents a sentence around
    it: such a sentence is kept as written. (Runs in another script are told apart only once
    the sentence's language is known: ``shield``.)
    """
    left = _ASIDES.sub(" ", sentence)
    for match in reversed(_source_tokens(left)):
        left = left[: match.start()] + " " + left[match.end() :]
    return _LETTER.search(left) is not None


def needs_alignment(sentence: str, glossary: Glossary | None) -> bool:
    """Whether enforcing ``sentence``'s translation may use the word alignment: it has a
    protected token (restored where it went) or a glossary term (replaced where it went).
    ``sentence`` is what the model sees (``Shielded.text``); an aside inside it asks for an
    alignment too (``Shielded.needs_alignment``).

    Most sentences have neither, and asking the model for attention and aligning words costs
    about as much as the rest of the pipeline's work on a sentence.
    """
    if _source_tokens(sentence):
        return True
    return glossary is not None and any(old.search(sentence) for old, _ in glossary.rules)


@dataclass(frozen=True)
class Enforced:
    """A translated sentence after enforcement.

    ``slots`` holds one string per target word of the model output (``str.split()``), so the
    alignment still indexes it; a replacement spanning several words is written into the first
    slot and the others are left empty. ``problems`` is non-empty when the sentence must not be
    used (the caller keeps the source sentence).
    """

    slots: tuple[str, ...]
    problems: tuple[str, ...] = ()


class _Target:
    """The mutable target side of one sentence while rules are applied."""

    def __init__(
        self,
        source: str,
        translation: AlignedTranslation,
        formats: tuple[NumberFormat | None, NumberFormat | None] = (None, None),
    ) -> None:
        self.source = source
        self.slots = translation.text.split()
        self.alignment = translation.alignment
        #: Number formats of the source and target languages, when known.
        self.formats = formats
        #: Protected tokens of the source, where they are.
        self.token_matches = list(_source_tokens(source))
        #: A slot holding one of these is never written over.
        self.tokens = frozenset(match.group() for match in self.token_matches)
        #: Slots an earlier rule wrote (a restored token, a glossary term): their source word.
        self.written: dict[int, int] = {}

    @cached_property
    def source_spans(self) -> list[tuple[int, int]]:
        return [match.span() for match in _WORDS.finditer(self.source)]

    def same_number(self, source_token: str, target_token: str) -> bool:
        """Whether ``target_token`` is the number ``source_token``, written in the source's or
        the target's format (``12 000`` for ``12,000`` in French, or ``12,000`` as is)."""
        source_format = self.formats[0]
        value = source_format.value(source_token) if source_format else None
        if value is None:
            return False
        return any(f is not None and f.value(target_token) == value for f in self.formats)

    def counterpart(self, source_token: str, target_token: str) -> bool:
        """Whether ``target_token`` may stand for ``source_token`` though written otherwise:
        the same number in another format, or an acronym for an acronym (``ONU`` is the
        French for ``UN``: the model translated it rather than lost it)."""
        if ACRONYM.fullmatch(source_token):
            return ACRONYM.fullmatch(target_token) is not None
        return self.same_number(source_token, target_token)

    def missing_tokens(self) -> list[re.Match[str]]:
        """Source tokens with no counterpart in the translation: the same text is looked for
        first, then a counterpart (``counterpart``); each target token counts once."""
        if not self.token_matches:
            return []
        found = _TOKENS.findall(" ".join(slot for slot in self.slots if slot))
        unmatched = []
        for match in self.token_matches:
            if match.group() in found:
                found.remove(match.group())
            else:
                unmatched.append(match)
        missing = []
        for match in unmatched:
            same = next((t for t in found if self.counterpart(match.group(), t)), None)
            if same is None:
                missing.append(match)
            else:
                found.remove(same)
        return missing

    def source_words(self, start: int, end: int) -> tuple[int, int]:
        """The word range ``[first, last)`` of the source covering characters ``[start, end)``."""
        words = [i for i, (s, e) in enumerate(self.source_spans) if s < end and e > start]
        return words[0], words[-1] + 1

    def aligned_run(self, first: int, last: int) -> list[int]:
        """The longest contiguous run of target words aligned to source words ``[first, last)``,
        preferring words aligned to nothing else (a replacement must not eat a neighbour)."""
        targets = sorted(
            {t for s, t in self.alignment if first <= s < last and 0 <= t < len(self.slots)}
        )
        mixed = {t for s, t in self.alignment if not first <= s < last}
        return _longest_run([t for t in targets if t not in mixed] or targets)

    def text_of(self, run: Sequence[int]) -> str:
        return " ".join(self.slots[t] for t in run if self.slots[t])

    def _spared(self, t: int, old: re.Pattern[str], new: str, counterparts: bool) -> bool:
        """Whether slot ``t`` must not be written over: it holds an earlier rule's output or a
        protected token of the source (or, for a restored token, another token's counterpart:
        ``ONU`` for ``UN``), and not the text ``old`` that is being replaced. A glossary term
        does write over a counterpart: the glossary says what the term must be."""
        slot = self.slots[t]
        if counterparts and new in _TOKENS.findall(slot):
            return True  # a copy of the token being restored, for another occurrence
        if not slot or old.search(slot):
            return False
        return t in self.written or any(
            m in self.tokens
            or (counterparts and any(self.counterpart(token, m) for token in self.tokens))
            for m in _PROTECTED.findall(slot)
        )

    def write(
        self,
        run: Sequence[int],
        old: re.Pattern[str],
        new: str,
        word: int,
        *,
        counterparts: bool = False,
    ) -> None:
        """Write ``new`` (for source word ``word``) over the longest part of ``run`` that spares
        other tokens and terms (a fallback position can land on a restored URL); with none, put
        it beside the run's first word, in source order, inside the punctuation around it."""
        free = _longest_run([t for t in run if not self._spared(t, old, new, counterparts)])
        if free:
            self.replace(free, old, new)
        else:
            slot = self.slots[run[0]]
            prefix = _match_text(OPENING, slot)
            suffix = _match_text(CLOSING, slot[len(prefix) :])
            core = slot[len(prefix) : len(slot) - len(suffix)]
            after = self.written.get(run[0], len(self.source_spans)) < word
            self.slots[run[0]] = prefix + (f"{core} {new}" if after else f"{new} {core}") + suffix
        self.written[(free or run)[0]] = word

    def replace(self, run: Sequence[int], old: re.Pattern[str], new: str) -> None:
        """Write ``new`` over ``run``: over a copy of the source term if there is one, else over
        the words, keeping the punctuation around them (opening quotes, commas...)."""
        current = self.text_of(run)
        if old.search(current):
            text = old.sub(new.replace("\\", "\\\\"), current, count=1)
        else:
            prefix = _match_text(_LEADING_PUNCTUATION, current)
            suffix = _match_text(_TRAILING_PUNCTUATION, current)
            while prefix and new.startswith(prefix[-1]):
                prefix = prefix[:-1]
            while suffix and new.endswith(suffix[0]):
                suffix = suffix[1:]
            text = prefix + new + suffix
        self.slots[run[0]] = text
        for t in run[1:]:
            self.slots[t] = ""

    def verbatim_run(self, old: re.Pattern[str]) -> list[int]:
        """The target word holding a verbatim copy of a source term (no alignment needed)."""
        for t, slot in enumerate(self.slots):
            if old.search(slot):
                return [t]
        return []

    def proportional_run(self, first: int) -> list[int]:
        if not self.slots:
            return []
        return [min(len(self.slots) - 1, first * len(self.slots) // len(self.source_spans))]


def _longest_run(indices: Sequence[int]) -> list[int]:
    """The longest run of consecutive numbers in sorted ``indices`` (the first one on a tie)."""
    runs: list[list[int]] = []
    for t in indices:
        if runs and runs[-1][-1] == t - 1:
            runs[-1].append(t)
        else:
            runs.append([t])
    return max(runs, key=len) if runs else []


def _match_text(pattern: re.Pattern[str], text: str) -> str:
    match = pattern.search(text)
    return match.group() if match else ""


def _localise_numbers(target: _Target) -> None:
    """Write in the target language's form every source number the translation copied as
    written where the target language reads it as another number (``5,100`` -> ``5 100`` in
    French, where ``5,100`` is 5.1); the value never changes, other numbers stay as written."""
    source, wanted = target.formats
    if source is None or wanted is None:
        return
    for match in target.token_matches:
        localised = wanted.localised(match.group(), source)
        if localised is None:
            continue
        pattern = re.compile(rf"(?<![\w.,]){re.escape(match.group())}(?![\w]|[.,]\d)")
        for t, slot in enumerate(target.slots):
            if pattern.search(slot):
                target.slots[t] = pattern.sub(localised, slot, count=1)
                break


def _restore_protected(target: _Target) -> list[str]:
    """Put back every protected token the model lost; return what could not be restored.

    Tokens are counted whole (``2023`` is not in ``28/12/2023``), on both sides alike, and a
    number is found in either language's format (``_Target.missing_tokens``).
    """
    problems: list[str] = []
    for match in target.missing_tokens():
        token = match.group()
        first, last = target.source_words(*match.span())
        run = target.aligned_run(first, last)
        if not run:
            problems.append(f"protected {token!r} lost in the translation of {target.source!r}")
            continue
        # A copy already in the run belongs to another occurrence (``2023 2023``): the token
        # is missing all the same, and ``write`` spares that copy.
        target.write(run, _loose_pattern(token), token, first, counterparts=True)
    return problems


def _loose_pattern(token: str) -> re.Pattern[str]:
    """Matches an altered copy of a protected token: its word characters, any separators."""
    parts = re.findall(r"\w+", token)
    if not parts:
        return term_pattern(token)
    return re.compile(r"(?<!\w)[#@]?" + r"\W{0,3}".join(map(re.escape, parts)) + r"(?!\w)")


def _apply_terms(target: _Target, glossary: Glossary) -> None:
    for old, new in glossary.rules:
        wanted = term_pattern(new)
        matches = list(old.finditer(target.source))
        if not matches or len(wanted.findall(" ".join(target.slots))) >= len(matches):
            continue
        for match in matches:
            first, last = target.source_words(*match.span())
            run = target.aligned_run(first, last)
            if run and wanted.search(target.text_of(run)):
                continue
            run = run or target.verbatim_run(old) or target.proportional_run(first)
            if run:
                target.write(run, old, new, first)


def enforce(
    source: str,
    translation: AlignedTranslation,
    glossary: Glossary | None = None,
    languages: tuple[str, str] | None = None,
) -> Enforced:
    """Restore protected tokens, then apply ``glossary``, to the model's ``translation``.

    ``languages`` (source, target) lets numbers match in either language's format; without
    it a number must come out exactly as written.
    """
    if not (glossary and glossary.rules) and not _source_tokens(source):
        return Enforced(tuple(translation.text.split()))  # nothing to enforce (most sentences)
    formats = (number_format(languages[0]), number_format(languages[1])) if languages else None
    target = _Target(source, translation, formats or (None, None))
    problems = _restore_protected(target)
    if not problems:
        _localise_numbers(target)
    if not problems and glossary is not None:
        _apply_terms(target, glossary)
    return Enforced(tuple(target.slots), tuple(problems))
