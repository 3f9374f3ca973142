"""Serving schema revisions, one per change."""
