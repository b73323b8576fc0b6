"""The catalog of named methods; importing it registers them, in the paper's table order."""
from . import ce  # noqa: F401
