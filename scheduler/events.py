"""The one log-line shape of the service: ``source=<id> lang=<xx> event=<name> key=value ...``."""

from __future__ import annotations

import json


def event(name: str, *, source: str = "-", lang: str = "-", **fields: object) -> str:
    """``source=<id> lang=<xx> event=<name> k=v ...``: one line an operator can grep."""
    tail = "".join(f" {key}={_quote(value)}" for key, value in fields.items())
    return f"source={source} lang={lang} event={name}{tail}"


def _quote(value: object) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if not text or " " in text or '"' in text else text
