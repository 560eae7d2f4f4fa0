"""Judges read back: the judge report and judge-human agreement. Read-only."""
