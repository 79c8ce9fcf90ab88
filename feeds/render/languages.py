"""Language tags and names as the feeds write them (BCP 47 tags, names from babel)."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError

from lingofeed.feeds.render.errors import RenderError


def normalize_language(code: str) -> str:
    """Return the BCP 47 form of a language code (``en_US`` -> ``en-US``, ``PT_br`` -> ``pt-BR``).

    Validators reject POSIX-style tags (``InvalidLanguage``) and readers compare tags as
    strings, so every tag we write goes through here. Raises RenderError for unknown codes.
    """
    try:
        locale = Locale.parse(code.strip().replace("-", "_"))
    except (ValueError, UnknownLocaleError) as error:
        raise RenderError(f"not a language code: {code!r}") from error
    parts = [locale.language]
    if locale.script:
        parts.append(locale.script)
    if locale.territory:
        parts.append(locale.territory)
    return "-".join(parts)


def language_name(code: str, in_language: str) -> str:
    """The name of language ``code`` written in ``in_language`` ("anglais" for en in fr)."""
    locale = Locale.parse(normalize_language(code).replace("-", "_"))
    target = Locale.parse(normalize_language(in_language).replace("-", "_"))
    return locale.get_display_name(target) or code
