"""The shape of the code: lower layers never import higher ones, and files stay small.

The layers are docs/architecture.md's. The import graph is read from the
sources with ``ast``, so imports inside functions (the lazy ones the warm path
relies on) and under ``TYPE_CHECKING`` count as much as those at the top.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cachedb"
FOUNDATION = 0

# Lowest first. A package may import the foundation (``errors`` and the top-level
# ``_*.py`` modules, which import nothing else of cachedb) and packages of lower
# layers; packages of one layer know nothing of each other.
LAYERS: list[set[str]] = [
    set(),  # the foundation: every module directly in cachedb/
    {"db", "fetch", "requirements", "resolve", "target", "wheel"},
    {"index", "link", "store"},
    {"audit", "gc", "remote"},
    {"build"},
    {"install"},
    {"inspect", "lock"},
    {"cli"},
]

# Known exceptions, each with the change that removes it (none today); delete the line
# when it lands.
ALLOWED: set[tuple[str, str]] = set()

LINE_LIMIT = 400


def _layer_of(unit: str) -> int | None:
    if unit == "__main__":
        return len(LAYERS)  # ``python -m cachedb``: above everything
    if not unit.startswith("package:"):
        return FOUNDATION
    name = unit.removeprefix("package:")
    return next((i for i, layer in enumerate(LAYERS) if name in layer), None)


def _unit(module: str, root: Path = PACKAGE) -> str:
    """``package:<name>`` for a module of a subpackage, else the top-level module's name."""
    parts = module.split(".")
    if len(parts) < 2:
        return "cachedb"
    if (root / parts[1]).is_dir():
        return f"package:{parts[1]}"
    return parts[1]


def _module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, root: Path = PACKAGE) -> Iterator[tuple[str, int]]:
    """Every cachedb module ``path`` imports, wherever the import statement stands."""
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # ``from . import x`` imports the module x; ``from .m import x`` the module m.
            names = [f"{target}.{alias.name}" for alias in node.names] if not node.module else []
            names.append(target)
        else:
            continue
        for name in names:
            if name == "cachedb" or name.startswith("cachedb."):
                yield name, node.lineno


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_package_has_a_layer() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    placed = set().union(*LAYERS)
    assert packages - placed == set(), "add each new package to LAYERS (docs/architecture.md)"


def test_lower_layers_never_import_higher_ones() -> None:
    wrong = []
    for path in _sources():
        here = _unit(_module_name(path))
        here_layer = _layer_of(here)
        for name, line in _imports(path):
            there = _unit(name)
            if there in (here, "cachedb"):
                continue
            there_layer = _layer_of(there)
            if here_layer is None or there_layer is None:
                continue  # test_every_package_has_a_layer says which
            pair = (here.removeprefix("package:"), there.removeprefix("package:"))
            upward = there_layer > here_layer
            sideways = there_layer == here_layer != FOUNDATION
            if (upward or sideways) and pair not in ALLOWED:
                where = path.relative_to(PACKAGE.parent)
                wrong.append(f"{where}:{line}: {pair[0]} (layer {here_layer}) imports {name}")
    assert wrong == [], "\n".join(wrong)


def test_the_check_sees_function_level_imports(tmp_path: Path) -> None:
    # The rule's teeth: an import hidden in a function body is an import all the same.
    root = tmp_path / "cachedb"
    for package in ("store", "install", "cli"):
        (root / package).mkdir(parents=True)
    source = root / "store" / "x.py"
    source.write_text("def f():\n    from ..install import pipeline\n    import cachedb.cli\n")
    found = {(_unit(name, root), line) for name, line in _imports(source, root)}
    assert found >= {("package:install", 2), ("package:cli", 3)}


def test_no_file_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE.parent)): n
        for path in _sources()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > LINE_LIMIT
    }
    assert long == {}, f"split these by concern (docs/architecture.md): {long}"
