"""One router per resource: jobs, health (+ readiness, metrics), admin (reload webhook)."""
