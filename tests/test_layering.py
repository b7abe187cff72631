"""The stages import only the stages before them (docs/CONTRIBUTING.md, "Layout"), function-local imports included.

Data flows one way: trace (``frontend``) → ``ad`` → ``opt`` → a backend. A stage that imported a later
one would tie the two into a cycle, however it hid the import (inside a function, to dodge the
import-time cycle). Inside a stage the same holds for its files: each stands above the files it imports,
so no two import each other, even through others. Every ``import`` statement of the package is read
with :mod:`ast` (also those inside functions and under ``if TYPE_CHECKING:``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pyaccad

PACKAGE = Path(pyaccad.__file__).parent

ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "wiring": set(),
    "store": set(),
    "ir": {"errors"},
    "opt": {"errors", "ir"},
    "frontend": {"errors", "wiring", "ir"},
    "ad": {"errors", "wiring", "ir", "frontend", "opt"},
}
"""What each early stage may import (stages of pyaccad: a top-level module or folder). Where one calls a
later stage, it goes through :mod:`pyaccad.wiring`, which the package fills."""


def stage_of(module: str) -> str:
    """``pyaccad.ad.jvp`` → ``ad``; ``pyaccad.errors`` → ``errors``; ``pyaccad`` → ``__init__``."""
    return module.split(".")[1] if module.count(".") else "__init__"


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every pyaccad module ``path`` imports (line, module), at any depth of its code."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "pyaccad":  # from pyaccad import ad: the stage is the name imported
                found += [(node.lineno, f"pyaccad.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return [(line, module) for line, module in found if module == "pyaccad" or module.startswith("pyaccad.")]


def stage_graph() -> dict[str, set[str]]:
    """Which stages each stage imports (the stages: the package's top-level modules and folders)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        stage = stage_of(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
        graph.setdefault(stage, set()).update(stage_of(m) for _, m in imports_of(path))
    return {stage: found - {stage} for stage, found in graph.items()}


def files_of(stage: str) -> list[Path]:
    folder = PACKAGE / stage
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [PACKAGE / f"{stage}.py"]


@pytest.mark.parametrize("stage", list(ALLOWED))
def test_a_stage_imports_only_the_stages_before_it(stage: str) -> None:
    wrong = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}"
        for path in files_of(stage)
        for line, module in imports_of(path)
        if stage_of(module) not in ALLOWED[stage] | {stage}
    ]
    assert wrong == []


def test_the_check_reads_function_local_imports(tmp_path: Path) -> None:
    source = tmp_path / "late.py"
    source.write_text("def f():\n    from pyaccad.api import jit\n    from pyaccad import backends\n")
    assert [stage_of(m) for _, m in imports_of(source)] == ["api", "backends"]


def module_graph(package: Path) -> dict[str, set[str]]:
    """Which of ``package``'s modules each of its modules imports (a package is its ``__init__``; ``from p
    import m`` of a submodule ``m`` is an import of ``p.m``)."""
    paths = {".".join(p.relative_to(package.parent).with_suffix("").parts): p for p in package.rglob("*.py")}
    modules = {name.removesuffix(".__init__"): path for name, path in paths.items()}
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        found = graph.setdefault(module, set())
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names if alias.name in modules)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in modules:
                names = [f"{node.module}.{alias.name}" for alias in node.names]
                found.update(name if name in modules else node.module for name in names)
        found.discard(module)
    return graph


def circles(graph: dict[str, set[str]]) -> list[str]:
    """The circles a depth-first walk of ``graph`` meets, each as ``a -> b -> a`` (none when it has none)."""
    found = []
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        for later in sorted(graph.get(node, ())):
            if later in path:
                found.append(" -> ".join([*path[path.index(later) :], later]))
            elif later not in done:
                visit(later, [*path, later])
        done.add(node)

    for node in sorted(graph):
        visit(node, [node])
    return found


def test_no_stages_import_each_other_in_a_circle() -> None:
    graph = stage_graph()
    assert circles(graph) == []
    assert {"ad", "frontend", "opt", "backends", "export", "api"} <= set(graph)  # the walk saw the stages


def test_no_modules_import_each_other_in_a_circle() -> None:
    graph = module_graph(PACKAGE)
    assert circles(graph) == []
    assert {"pyaccad.frontend.values", "pyaccad.frontend.operators"} <= graph["pyaccad.frontend.methods"]


def test_the_module_check_finds_a_circle_hidden_in_a_function(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "low.py").write_text("def f():\n    from pkg import high\n")
    (package / "high.py").write_text("from pkg.low import f\n")
    assert circles(module_graph(package)) == ["pkg.high -> pkg.low -> pkg.high"]
