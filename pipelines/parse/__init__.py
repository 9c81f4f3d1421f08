"""Parse: cleaned lines in, rows for every table out (pure functions)."""

from pipelines.compiled import use_compiled

# The compiled build of these modules when it matches them (pipelines/compiled.py).
use_compiled(__name__, __path__)
