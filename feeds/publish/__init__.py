"""Publish: put rendered files in the served directory, atomically and only when they change."""
