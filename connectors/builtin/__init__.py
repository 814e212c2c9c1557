"""The connectors that ship, one module each; importing this package registers them."""

from . import reference  # noqa: F401
