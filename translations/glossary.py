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
  hashtag still changes.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from lingofeed.translations.numbers import NUMBER_GROUPED, NumberFormat, number_format
from lingofeed.translations.types import AlignedTranslation

__all__ = [
    "Enforced",
    "Glossary",
    "enforce",
    "has_words_to_translate",
    "needs_alignment",
    "protected_tokens",
]

#: URLs, e-mail addresses, @mentions, #hashtags, then numbers, times and dates.
_PROTECTED = re.compile(
    r"(?:https?|ftp)://[^\s<>\"]*[^\s<>\".,;:!?)\]}'»]"
    r"|www\.[^\s<>\"]*[^\s<>\".,;:!?)\]}'»]"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|(?<![\w@])@\w+"
    r"|(?<![\w&#])#\w+"
    r"|(?<!\w)\d+(?:[.,:/-]\d+)*(?!\w)"
)
#: Protected tokens as enforcement reads them: also numbers grouped with spaces (``12 000``).
_TOKENS = re.compile(NUMBER_GROUPED + "|" + _PROTECTED.pattern)
_WORDS = re.compile(r"\S+")
_LETTER = re.compile(r"[^\W\d_]")
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


def protected_tokens(text: str) -> list[str]:
    """The URLs, addresses, mentions, hashtags and numbers of ``text``, in order."""
    return _PROTECTED.findall(text)


def has_words_to_translate(sentence: str) -> bool:
    """Whether a letter is left once protected tokens are taken out of ``sentence``.

    A sentence that is only hashtags, mentions, URLs, addresses, numbers and punctuation
    (``#Tombouctou``, ``28/12 @minusma``) has nothing for a model to translate, and a small
    model handed one invents a sentence around it: such a sentence is kept as written.
    """
    return _LETTER.search(_PROTECTED.sub(" ", sentence)) is not None


def needs_alignment(sentence: str, glossary: Glossary | None) -> bool:
    """Whether enforcing ``sentence``'s translation may use the word alignment: it has a
    protected token (restored where it went) or a glossary term (replaced where it went).

    Most sentences have neither, and asking the model for attention and aligning words costs
    about as much as the rest of the pipeline's work on a sentence.
    """
    if _TOKENS.search(sentence):
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
        self.token_matches = list(_TOKENS.finditer(source))
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

    def missing_tokens(self) -> list[re.Match[str]]:
        """Source tokens with no counterpart in the translation: the same text is looked for
        first, then the same number in another format; each target token counts once."""
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
            same = next((t for t in found if self.same_number(match.group(), t)), None)
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

    def _spared(self, t: int, old: re.Pattern[str]) -> bool:
        """Whether slot ``t`` must not be written over: it holds an earlier rule's output or a
        protected token of the source, and not the text ``old`` that is being replaced."""
        slot = self.slots[t]
        if not slot or old.search(slot):
            return False
        return t in self.written or any(m in self.tokens for m in _PROTECTED.findall(slot))

    def write(self, run: Sequence[int], old: re.Pattern[str], new: str, word: int) -> None:
        """Write ``new`` (for source word ``word``) over the longest part of ``run`` that spares
        other tokens and terms (a fallback position can land on a restored URL); with none, put
        it beside the run's first word, in source order, inside the punctuation around it."""
        free = _longest_run([t for t in run if not self._spared(t, old)])
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
        if token not in _TOKENS.findall(target.text_of(run)):
            target.write(run, _loose_pattern(token), token, first)
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
    if not (glossary and glossary.rules) and not _TOKENS.search(source):
        return Enforced(tuple(translation.text.split()))  # nothing to enforce (most sentences)
    formats = (number_format(languages[0]), number_format(languages[1])) if languages else None
    target = _Target(source, translation, formats or (None, None))
    problems = _restore_protected(target)
    if not problems and glossary is not None:
        _apply_terms(target, glossary)
    return Enforced(tuple(target.slots), tuple(problems))
