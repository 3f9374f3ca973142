"""Evaluation: metrics on held-out clips, gates against the champion, HTML report."""
