"""The reference CLM talks to clmsite only over HTTP: none of its modules imports clmsite's packages."""

import ast
from pathlib import Path

CLMSITE_PACKAGES = {"contracts", "connectors", "clmsite"}
REFCLM = Path(__file__).resolve().parent.parent


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_no_module_imports_clmsite():
    offenders = {
        str(path.relative_to(REFCLM)): sorted(imported_packages(path) & CLMSITE_PACKAGES)
        for path in REFCLM.rglob("*.py")
        if imported_packages(path) & CLMSITE_PACKAGES
    }
    assert offenders == {}
