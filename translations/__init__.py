"""Offline translation: Argos packages, segmentation, HTML-aware translation, translation memory.

Text in, text out: nothing here knows about feeds.
"""
