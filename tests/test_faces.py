"""The public faces: one style for every package face (a sorted ``__all__`` of names imported on first use, the same
names for type checkers), every name resolves, and the notebooks import only from faces."""

from __future__ import annotations

import ast
import importlib
import json
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "hqsam_nb"
FACES = sorted(p for p in PACKAGE.rglob("__init__.py") if p.parent.name != "cli")


def _face(path: Path) -> tuple[str, dict[str, str], list[str], set[str]]:
    """``(package, _HOMES, __all__, names of its TYPE_CHECKING imports)``, read without importing it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    homes: dict[str, str] = {}
    names: list[str] = []
    typed: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if getattr(target, "id", None) == "_HOMES":
                homes = ast.literal_eval(node.value)
            if getattr(target, "id", None) == "__all__":
                names = ast.literal_eval(node.value)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typed = {a.asname or a.name for n in node.body if isinstance(n, ast.ImportFrom) for a in n.names}
    package = ".".join(path.parent.relative_to(ROOT).parts)
    return package, homes, names, typed


@pytest.mark.parametrize("path", FACES, ids=lambda p: ".".join(p.parent.relative_to(ROOT).parts))
def test_every_face_has_the_one_style_and_resolves(path: Path) -> None:
    package, homes, names, typed = _face(path)
    assert names == sorted(names) == sorted(homes), f"{package}: __all__ must be the sorted keys of _HOMES"
    assert typed == set(homes), f"{package}: the TYPE_CHECKING imports must name exactly the face's names"
    submodules = {p.stem for p in path.parent.glob("*.py")} | {p.name for p in path.parent.iterdir() if p.is_dir()}
    assert not set(homes) & submodules, f"{package}: a name equal to a submodule's is shadowed once it is imported"
    module = importlib.import_module(package)
    for name in names:
        value = getattr(module, name)
        assert not isinstance(value, types.ModuleType), f"{package}.{name} is a module"


def test_the_top_level_is_the_notebooks_tier() -> None:
    import hqsam_nb

    assert len(hqsam_nb.__all__) < 60  # what a notebook uses; the rest lives in the subpackage faces
    for name in ("load_pair", "load_sample", "show_weights_banner", "Prompt", "BRANCHES", "WeightsProvenance"):
        assert name in hqsam_nb.__all__


def _notebook_imports(path: Path) -> list[tuple[str, list[str]]]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    found = []
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        source = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hqsam_nb"):
                found.append((node.module, [a.name for a in node.names]))
            elif isinstance(node, ast.Import):
                found += [(a.name, []) for a in node.names if a.name.startswith("hqsam_nb")]
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem[:2])
def test_notebooks_import_only_from_faces(path: Path) -> None:
    faces = {_face(p)[0] for p in FACES}
    for module, names in _notebook_imports(path):
        assert module in faces, f"{path.name} imports from the deep module {module}; import from its package's face"
        face_names = set(_face(PACKAGE.parent / Path(*module.split(".")) / "__init__.py")[2])
        subpackages = {".".join(p.parent.relative_to(ROOT).parts).rsplit(".", 1)[-1] for p in FACES}
        for name in names:
            assert name in face_names or name in subpackages, f"{path.name}: {module} has no public name {name!r}"
