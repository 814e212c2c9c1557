"""The connectors that ship, one module each; importing this package registers them."""

from . import docusign, reference  # noqa: F401
