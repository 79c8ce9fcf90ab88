"""The render stage's error: what an entry or a setting lacks to be rendered."""

from __future__ import annotations

from lingofeed.feeds.errors import LingofeedError


class RenderError(LingofeedError, ValueError):
    """An entry or setting cannot be rendered; the message names the item or setting."""
