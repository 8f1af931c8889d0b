"""The house: imports run one way (top to bottom through LAYERS), no cycles, no module over ~400 lines.

The import graph comes from an AST walk over every file of the package, imports inside functions included, so a
lazy import cannot hide a cycle.
"""

import ast
from pathlib import Path

import pytest

from ardiff_edu.utils import REPO_ROOT

PACKAGE = REPO_ROOT / "ardiff_edu"
#: Top to bottom: a module may import modules of lower layers only (and, inside a sub-package such as
#: ``ardiff_edu.data``, its siblings, as long as there is no cycle).
LAYERS = [
    ["ardiff_edu.__main__"],
    ["ardiff_edu.cli", "ardiff_edu.evaluate", "ardiff_edu.bench", "ardiff_edu.nbtools", "ardiff_edu.exercises"],
    ["ardiff_edu.explorer", "ardiff_edu.protocol", "ardiff_edu.results", "ardiff_edu.plan"],
    ["ardiff_edu.metrics", "ardiff_edu.figures", "ardiff_edu.fvd", "ardiff_edu.videonet", "ardiff_edu.quality"],
    ["ardiff_edu.pipeline"],
    ["ardiff_edu.train"],
    ["ardiff_edu.finetune", "ardiff_edu.latents"],
    ["ardiff_edu.config", "ardiff_edu.loaders", "ardiff_edu.losses"],
    ["ardiff_edu.ddim", "ardiff_edu.checkpoint", "ardiff_edu.distributed"],
    ["ardiff_edu.models"],
    ["ardiff_edu.data"],
    ["ardiff_edu.video"],
    ["ardiff_edu.staircases"],
    ["ardiff_edu.ad", "ardiff_edu.fopp", "ardiff_edu.noise"],
    ["ardiff_edu.utils", "ardiff_edu"],
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every ``ardiff_edu`` module imported anywhere in ``path`` (relative imports resolved)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("ardiff_edu")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base.startswith("ardiff_edu"):
                for a in node.names:   # `from ardiff_edu import checkpoint` imports the module ardiff_edu.checkpoint
                    full = f"{base}.{a.name}"
                    found.add(full if (PACKAGE.parent / (full.replace(".", "/") + ".py")).exists()
                              or (PACKAGE.parent / full.replace(".", "/")).is_dir() else base)
    found.discard(name)
    return found


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in PACKAGE.rglob("*.py")}


def layer_of(module: str) -> int:
    for i, names in enumerate(LAYERS):
        for n in names:
            if module == n or (n != "ardiff_edu" and module.startswith(n + ".")):
                return i
    raise AssertionError(f"{module} is in no layer of tests/test_layout.py: add it where it belongs")


def find_cycle(g: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(g.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (c := visit(m)):
                return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(g):
        if n not in state and (c := visit(n)):
            return c
    return None


def test_the_walker_sees_lazy_and_relative_imports():
    src = "from . import dit\n\ndef f():\n    from ardiff_edu.noise import q_sample\n    import ardiff_edu.video\n"
    path = PACKAGE / "models" / "_probe_for_test.py"
    path.write_text(src)
    try:
        assert imports_of(path) == {"ardiff_edu.models.dit", "ardiff_edu.noise", "ardiff_edu.video"}
    finally:
        path.unlink()


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_imports_run_one_way():
    wrong = []
    for module, deps in graph().items():
        for dep in deps:
            same_package = module.rpartition(".")[0] == dep.rpartition(".")[0] != "ardiff_edu"
            if dep == "ardiff_edu" or same_package or dep.startswith(module + ".") or module.startswith(dep + "."):
                continue
            if layer_of(dep) <= layer_of(module):
                wrong.append(f"{module} (layer {layer_of(module)}) imports {dep} (layer {layer_of(dep)})")
    assert not wrong, "\n".join(sorted(wrong))


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_short(path):
    lines = len(path.read_text().splitlines())
    assert lines <= 420, f"{path.name} has {lines} lines: split it by concept"
