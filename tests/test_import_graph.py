"""The package's import graph: no import circles, and no import from a lower floor up to a higher one.

Every ``import`` of a ``hqsam_nb`` module counts, at module level or inside a function (a lazy import is still a
dependency); imports under ``if TYPE_CHECKING:`` do not (they never run). A package's face (``__init__``) counts as
importing what its ``_HOMES`` map names.

Run it as a script to see the graph's problems, whatever the tests say::

    python tests/test_import_graph.py            # circles and upward imports, one per line; exit 1 if any
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "hqsam_nb"

#: The floors, ground first. A module may import from its own floor or any floor below, never above. The first
#: matching prefix decides a module's floor.
FLOORS: tuple[tuple[str, ...], ...] = (
    # 0: no knowledge of models: helpers, file formats, pure numpy metrics
    ("hqsam_nb._compat", "hqsam_nb._lazy", "hqsam_nb._version", "hqsam_nb.util", "hqsam_nb.validation",
     "hqsam_nb.io", "hqsam_nb.metrics"),
    # 1: checkpoints, loading, which weights a model carries
    ("hqsam_nb.models",),
    # 2: the pair predictor, its results and its ONNX backend; what a run folder is
    ("hqsam_nb.pair", "hqsam_nb.onnx", "hqsam_nb.runs"),
    # 3: pictures of masks and prompts; the notebook's banners and stamps
    ("hqsam_nb.drawing", "hqsam_nb.notebook"),
    # 4: what the tutorial does with a pair
    ("hqsam_nb.architecture", "hqsam_nb.evaluation", "hqsam_nb.automatic", "hqsam_nb.text", "hqsam_nb.video",
     "hqsam_nb.training"),
    # 5: interactive widgets (may use any of the above)
    ("hqsam_nb.widgets",),
    # 6: entry points: the command line and the public face
    ("hqsam_nb.cli", "hqsam_nb.__main__", "hqsam_nb.evaluate", "hqsam_nb"),
)


def floor_of(module: str) -> int:
    for level, prefixes in enumerate(FLOORS):
        if any(module == p or module.startswith(p + ".") for p in prefixes if p != "hqsam_nb"):
            return level
    if module == "hqsam_nb":
        return len(FLOORS) - 1
    raise AssertionError(f"{module} is on no floor: add it to FLOORS in {__file__}")


def modules() -> dict[str, tuple[Path, bool]]:
    """Every module of the package: dotted name -> (file, is a package's ``__init__``)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node except those under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def imports(name: str, path: Path, is_package: bool, known: dict[str, tuple[Path, bool]]) -> set[str]:
    """The package modules ``name`` imports at run time."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = name.split(".") if is_package else name.split(".")[:-1]
    out: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.add(sub if sub in known else target)
        elif isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif is_package and isinstance(node, ast.Assign | ast.AnnAssign):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if getattr(target, "id", None) == "_HOMES":
                out.update(f"{name}.{home}" for home in ast.literal_eval(node.value).values())
    return {m for m in out if m in known and m != name}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, is_package, known) for name, (path, is_package) in known.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(edges)))
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(found)


def upward(edges: dict[str, set[str]]) -> list[str]:
    """Every import from a lower floor up to a higher one, as ``"a (floor i) -> b (floor j)"``."""
    return sorted(f"{a} (floor {floor_of(a)}) -> {b} (floor {floor_of(b)})"
                  for a, targets in edges.items() for b in targets if floor_of(b) > floor_of(a))


def test_no_import_circles() -> None:
    found = circles(graph())
    assert not found, "import circles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_no_import_from_a_lower_floor_to_a_higher_one() -> None:
    found = upward(graph())
    assert not found, "imports that run back up:\n" + "\n".join(found)


def test_every_module_is_on_a_floor_and_the_graph_is_read() -> None:
    edges = graph()
    assert len(edges) > 50 and all(floor_of(m) >= 0 for m in edges)
    assert "hqsam_nb.pair.predictor" in edges["hqsam_nb.pair"]  # a lazy face's homes count
    assert "hqsam_nb.models.loading" in edges["hqsam_nb.pair.predictor"]


if __name__ == "__main__":
    g = graph()
    problems = [f"circle: {' <-> '.join(c)}" for c in circles(g)] + [f"upward: {u}" for u in upward(g)]
    print(f"{len(g)} modules, {sum(map(len, g.values()))} imports; {len(circles(g))} circle(s), "
          f"{len(upward(g))} upward import(s)")
    print("\n".join(problems))
    sys.exit(1 if problems else 0)
