"""Ingest: read what upstream says — HTTP fetch, feed parsing, article directories."""
