"""Export files: dataset rows (from `bot.services.exports`) become files, one writer per format.

A format is one module here with a `Writer` (see `writer.py`) and one line in `registry.py`'s table.
"""
