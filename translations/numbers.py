"""Numbers compared by value across locale formats: ``12,000`` (en) is ``12 000`` (fr) is
``12.000`` (de); ``3.5`` is ``3,5``; and a number rewritten for a language that would misread
it (``NumberFormat.localised``: the English ``5,100`` is ``5 100`` in French, not 5.1).

Why: protected-token enforcement checks that every number of a source sentence is in its
translation. A model that rightly writes the French ``Plus de 12 000`` for ``More than
12,000`` must not be "corrected" (``12,000`` written over ``Plus``). So a number is read with
the digit grouping and decimal mark of its language (babel's CLDR symbols), plus the
separators texts use anyway: any space (plain, no-break, narrow no-break) groups digits in
every language (the SI style), and ``.`` groups digits where ``,`` is the decimal mark.
Grouping must be regular (groups of three after the first), so ``1,2`` reads as nothing in
English and ``12,000`` is never ``1,200``. Anything else (dates ``28/12``, times ``10:30``,
versions ``1.2.3``) has no value and is compared as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

__all__ = ["NUMBER_GROUPED", "NumberFormat", "number_format"]

_SPACES = frozenset(" \u00a0\u202f")
#: A number grouped with spaces or apostrophes (``12 000``, ``1'250``): one token, though
#: ``str.split`` may see several words.
NUMBER_GROUPED = r"(?<![\w.,])\d{1,3}(?:[ \u00a0\u202f'\u2019]\d{3})+(?:[.,]\d+)?(?!\w)"


@dataclass(frozen=True)
class NumberFormat:
    """How one language writes numbers: its decimal mark and the marks that group digits
    (``group`` is the one it writes, babel's: a narrow no-break space in French)."""

    decimal: str
    groups: frozenset[str]
    group: str = ","

    def value(self, text: str) -> Decimal | None:
        """The number ``text`` means in this format, or None when it is not one."""
        whole, mark, fraction = text.partition(self.decimal)
        if mark and not fraction.isdigit():
            return None
        groups = _splitter(self.groups).split(whole)
        if not all(group.isdigit() and group.isascii() for group in groups):
            return None
        if len(groups) > 1 and not (
            len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:])
        ):
            return None
        return Decimal("".join(groups) + ("." + fraction if mark else ""))

    def localised(self, text: str, source: NumberFormat) -> str | None:
        """``text``, a number written in ``source``'s format, written in this one when this
        format would read it as another number (the English ``5,100`` is 5.1 in French);
        None when it reads the same here, or as no number at all (then it is clear as it is).
        The digits stay as written: grouped in threes if they were, fraction untouched."""
        value = source.value(text)
        if value is None or self.value(text) in (None, value):
            return None
        whole, mark, fraction = text.partition(source.decimal)
        digits = re.sub(r"\D", "", whole)
        if len(digits) != len(whole):  # it was grouped
            head = len(digits) % 3 or 3
            parts = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
            digits = self.group.join(parts)
        return digits + (self.decimal + fraction if mark else "")


@lru_cache(maxsize=64)
def _splitter(groups: frozenset[str]) -> re.Pattern[str]:
    """Splits a number at any of ``groups``. Compiled once per format: enforcement reads every
    number of every sentence (and its counterparts) with it."""
    return re.compile("[" + re.escape("".join(sorted(groups))) + "]")


@lru_cache(maxsize=64)
def number_format(language: str) -> NumberFormat | None:
    """``language``'s number format from babel, or None for a tag babel does not know."""
    from babel import Locale, UnknownLocaleError
    from babel.numbers import get_decimal_symbol, get_group_symbol

    try:
        locale = Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return None
    decimal = get_decimal_symbol(locale)
    groups = {get_group_symbol(locale), *_SPACES, "'", "\u2019"} - {decimal}
    if decimal == ",":
        groups.add(".")
    return NumberFormat(decimal, frozenset(groups), get_group_symbol(locale))
