"""Translation contexts: the fingerprint stored with each translation of what shaped it.

A translation is current while its article's hash and its context match; the context changes
with the models and glossary of its language (``runtime``) and with its source's selection
(``selection``), so any of them changing retranslates exactly what it affects. Kept apart, with
no imports of the scheduler, so both can use it without an import cycle.
"""

from __future__ import annotations

import hashlib
import json


def fingerprint(*parts: object) -> str:
    """A short stable hash of ``parts`` (glossary, model ids) for the translation context."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]
