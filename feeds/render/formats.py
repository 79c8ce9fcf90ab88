"""Each published format's file name and MIME type, so every document links to the same names."""

from __future__ import annotations

#: The file names of one language's feed family, relative to the language directory.
RSS_FILE = "feed.xml"
ATOM_FILE = "atom.xml"
JSON_FILE = "feed.json"
OPML_FILE = "feeds.opml"
INDEX_FILE = "index.html"

MIME_RSS = "application/rss+xml"
MIME_ATOM = "application/atom+xml"
MIME_JSON = "application/feed+json"
MIME_OPML = "text/x-opml"
