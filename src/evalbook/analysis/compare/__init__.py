"""Comparing runs case by case: alignment on ``(case, epoch)``, paired metrics, flips,
latency distributions, word diffs. Read-only."""
