"""Numbers compared by value across the source's and the target's formats (``12,000`` is the
French ``12 000``), so enforcement keeps the model's correctly localised number."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lingofeed.translations.glossary import enforce
from lingofeed.translations.numbers import number_format
from lingofeed.translations.types import AlignedTranslation

PEACEKEEPERS = "More than 12,000 peacekeepers served in Mali at the height of MINUSMA."
CASQUES = "Plus de 12 000 Casques bleus ont servi au Mali au plus fort de la MINUSMA."


@pytest.mark.parametrize(
    ("language", "text", "value"),
    [
        ("en", "12,000", "12000"),
        ("en", "12 000", "12000"),
        ("en", "3.5", "3.5"),
        ("en", "1,234,567.25", "1234567.25"),
        ("fr", "12 000", "12000"),
        ("fr", "12\u00a0000", "12000"),
        ("fr", "12\u202f000", "12000"),
        ("fr", "12.000", "12000"),
        ("fr", "3,5", "3.5"),
        ("de", "12.000", "12000"),
        ("de", "3,5", "3.5"),
        ("de-CH", "12'000", "12000"),
        ("en", "2023", "2023"),
    ],
)
def test_a_number_is_read_with_its_languages_grouping_and_decimal_mark(
    language: str, text: str, value: str
) -> None:
    number = number_format(language)
    assert number is not None and number.value(text) == Decimal(value)


@pytest.mark.parametrize(
    ("language", "text"),
    [("en", "1,2"), ("en", "12,00"), ("en", "1,2345"), ("fr", "28/12"), ("en", "10:30"),
     ("en", "1.2.3"), ("fr", "3,5,6")],
)  # fmt: skip
def test_irregular_grouping_dates_and_times_have_no_value(language: str, text: str) -> None:
    number = number_format(language)
    assert number is not None and number.value(text) is None


def test_twelve_thousand_is_not_one_thousand_two_hundred() -> None:
    en, fr = number_format("en"), number_format("fr")
    assert en is not None and fr is not None
    assert en.value("12,000") != en.value("1,200")
    assert en.value("12,000") != fr.value("1 200")
    assert en.value("12,000") == fr.value("12 000")


def test_an_unknown_language_has_no_number_format() -> None:
    assert number_format("xx-nonsense") is None


def enforced(source: str, target: str, languages: tuple[str, str] | None) -> str:
    pairs = [(i, i) for i in range(min(len(source.split()), len(target.split())))]
    result = enforce(source, AlignedTranslation(target, tuple(pairs)), None, languages)
    assert result.problems == ()
    return " ".join(slot for slot in result.slots if slot)


def test_a_number_in_the_targets_format_is_kept_as_the_model_wrote_it() -> None:
    assert enforced(PEACEKEEPERS, CASQUES, ("en", "fr")) == CASQUES
    narrow = "Plus de 12\u202f000 Casques bleus."  # one number, though str.split sees two words
    assert enforced("More than 12,000 peacekeepers.", narrow, ("en", "fr")) == " ".join(
        narrow.split()
    )
    assert enforced("It costs 3.5 euros.", "Il coûte 3,5 euros.", ("en", "fr")) == (
        "Il coûte 3,5 euros."
    )


def test_a_copied_number_is_written_in_the_targets_form_where_it_would_misread() -> None:
    copied = CASQUES.replace("12 000", "12,000")  # 12,000 reads 12 in French
    assert enforced(PEACEKEEPERS, copied, ("en", "fr")) == CASQUES.replace("12 000", "12\u202f000")
    back = "More than 12,000 peacekeepers served in Mali at the height of MINUSMA."
    assert enforced(CASQUES, back, ("fr", "en")) == back
    kept = CASQUES.replace("12 000", "12 000")  # spaces group digits in every language
    assert enforced(CASQUES, kept, ("fr", "en")) == kept


@pytest.mark.parametrize(
    ("number", "languages", "written"),
    [("5,100", ("en", "fr"), "5\u202f100"), ("5.100", ("fr", "en"), "5,100"),
     ("1,500", ("fr", "en"), "1.500"), ("3.500", ("en", "de"), "3,500"),
     ("45.5", ("en", "fr"), "45.5"), ("2013", ("en", "fr"), "2013"),
     ("28/12", ("fr", "en"), "28/12"), ("45,5", ("fr", "en"), "45,5")],
)  # fmt: skip
def test_only_numbers_the_target_language_would_misread_change_form(
    number: str, languages: tuple[str, str], written: str
) -> None:
    assert enforced(f"Total {number} ici.", f"Total {number} here.", languages) == (
        f"Total {written} here."
    )


def test_a_different_number_is_still_restored() -> None:
    wrong = CASQUES.replace("12 000", "1 200")
    restored = enforced(PEACEKEEPERS, wrong, ("en", "fr"))
    # Restored, then written as French writes it (12,000 would read 12 there).
    assert "12\u202f000" in restored and "1 200" not in restored


def test_without_languages_a_number_must_come_out_as_written() -> None:
    assert "12,000" in enforced(PEACEKEEPERS, CASQUES, None)
