"""The sync's modules talk through public names: none imports a sibling's private (underscore)
name, so each module's underscore names can change without reading the others."""

import ast
from pathlib import Path

import itsm_sync.services

PACKAGE = Path(itsm_sync.services.__file__).parent


def _private_imports(path: Path) -> list[str]:
    """`module: name` for each underscore name this file imports from a module of the package."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.ImportFrom):
            continue
        module = node.module or ""
        sibling = node.level == 1 or module.startswith("itsm_sync.services")
        if not sibling:
            continue
        for alias in node.names:
            if alias.name.startswith("_"):
                found.append(f"{path.name}: {alias.name} from {'.' * node.level}{module}")
    return found


def _sibling_attributes(path: Path) -> list[str]:
    """`module: sibling._name` for each underscore attribute read off a sibling module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    siblings = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 1 and not node.module
        for alias in node.names
    }
    return [
        f"{path.name}: {node.value.id}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in siblings
        and node.attr.startswith("_")
    ]


def test_no_module_of_the_sync_imports_a_siblings_private_name():
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) > 5  # the package is where this test looks for it

    offending = [hit for path in modules for hit in _private_imports(path)]
    offending += [hit for path in modules for hit in _sibling_attributes(path)]

    assert offending == []


def test_the_check_sees_a_private_import(tmp_path):
    module = tmp_path / "example.py"
    module.write_text(
        "from .records import Spec, _Reject\n"
        "from itsm_sync.services.locks import _kind_lock\n"
        "from . import seen\n"
        "seen._forget_seen([])\n"
        "from django.db import _private_is_not_ours\n"
    )

    assert _private_imports(module) == [
        "example.py: _Reject from .records",
        "example.py: _kind_lock from itsm_sync.services.locks",
    ]
    assert _sibling_attributes(module) == ["example.py: seen._forget_seen"]
