"""Models the curation signal stages load once per worker (from a local directory or object-store URI)."""
