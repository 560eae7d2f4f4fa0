"""A suite's history: trends over runs, alias groups, run-to-run noise. Read-only."""
