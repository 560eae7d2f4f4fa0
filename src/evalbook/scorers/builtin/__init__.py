"""The built-in code and reference scorers, registered as ``evalbook.scorers`` entry
points like any plugin."""
