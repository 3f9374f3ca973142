"""One router per resource: jobs, results, models, health (+ readiness, metrics), admin."""
