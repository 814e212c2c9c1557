"""The connectors that ship, one module each; importing this package registers them."""

from . import docusign, generic_rest, reference  # noqa: F401
