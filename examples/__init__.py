"""Runnable examples: `python -m examples.seeds`, `python -m examples.digits`."""
