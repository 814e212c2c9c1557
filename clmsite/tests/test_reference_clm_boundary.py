"""The reference CLM stands for an external system: it may know clmsite only through HTTP."""

import ast
from pathlib import Path

from django.conf import settings

CLMSITE_PACKAGES = {"clmsite", "contracts", "connectors"}


def imported_modules(source: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_reference_clm_imports_nothing_of_clmsite():
    sources = sorted((Path(settings.BASE_DIR) / "refclm").rglob("*.py"))
    assert sources, "the reference CLM's sources are where this test looks"

    crossings = {
        f"{source.relative_to(settings.BASE_DIR)}: {name}"
        for source in sources
        for name in imported_modules(source)
        if name.split(".")[0] in CLMSITE_PACKAGES
    }

    assert not crossings
