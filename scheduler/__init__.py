"""The lingofeed service: config loading, the fetch-translate-publish cycle, scheduling and CLI."""
