"""The API reaches the other apps through their public names only: it never imports a page view
module (views, views_portal, …), where rules must not live, nor another app's private
(underscore) name, so each app's views and helpers can change without breaking the API."""

import ast
import tomllib
from pathlib import Path

import api

PACKAGE = Path(api.__file__).parent
# The project's apps, as the layers contract lists them (a new app is covered once it is there).
APPS = set(
    tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())["tool"]["importlinter"][
        "root_packages"
    ]
)
APPS.discard("api")


def _other_app(module: str) -> bool:
    return module.split(".")[0] in APPS


def _views(module: str) -> bool:
    return any(part.startswith("views") for part in module.split(".")[1:])


def _crossings(path: Path) -> list[str]:
    """`file: what` for each view module of another app, or private name of one, it imports."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _other_app(alias.name) and _views(alias.name):
                    found.append(f"{path.name}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and _other_app(node.module):
            for alias in node.names:
                if _views(node.module) or _views(f"{node.module}.{alias.name}"):
                    found.append(f"{path.name}: {alias.name} from {node.module}")
                elif alias.name.startswith("_"):
                    found.append(f"{path.name}: private {alias.name} from {node.module}")
    return found


def test_the_api_imports_no_view_module_and_no_private_name_of_another_app():
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 10  # the package is where this test looks for it

    assert [hit for path in modules for hit in _crossings(path)] == []


def test_the_check_sees_a_view_import_and_a_private_name(tmp_path):
    module = tmp_path / "example.py"
    module.write_text(
        "from credits.views import _customer, MANAGE\n"
        "from entitlements import views_portal\n"
        "import itsm_sync.views\n"
        "from customers.scope import _member\n"
        "from credits.selectors import credit_customer_get\n"
        "from rest_framework.views import APIView\n"
        "from .views import token_list\n"
        "from . import _private_of_our_own\n"
    )

    assert _crossings(module) == [
        "example.py: _customer from credits.views",
        "example.py: MANAGE from credits.views",
        "example.py: views_portal from entitlements",
        "example.py: import itsm_sync.views",
        "example.py: private _member from customers.scope",
    ]
