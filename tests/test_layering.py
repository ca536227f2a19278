"""The house's one direction (README, Architecture): each layer imports only from below it.

    deliveries.engine < accounts < events < webhooks < deliveries < api | dashboard | simulator

`config` only wires (settings, the Celery app, URL includes): it may import anything and
nothing imports it. Every import counts, at module level or inside a function, so an upward
dependency cannot hide in a function body. The engine imports no Django at all.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Lowest first; an app may import its own modules and those of lower layers.
LAYERS = [
    {"deliveries.engine"},
    {"accounts"},
    {"events"},
    {"webhooks"},
    {"deliveries"},
    {"api", "dashboard", "simulator"},
]
WIRING = "config"
APPS = sorted({app for layer in LAYERS for app in layer} | {WIRING}, key=len, reverse=True)


def app_of(module: str) -> str | None:
    """The app (or the engine) a dotted module name belongs to; None outside the project."""
    for app in APPS:
        if module == app or module.startswith(app + "."):
            return app
    return None


def layer_of(app: str) -> int:
    return next(index for index, layer in enumerate(LAYERS) if app in layer)


def project_modules() -> list[tuple[str, Path]]:
    modules = []
    for app in APPS:
        folder = ROOT / app.replace(".", "/")
        for path in sorted(folder.rglob("*.py")):
            relative = path.relative_to(ROOT).with_suffix("")
            parts = list(relative.parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules.append((".".join(parts), path))
    return modules


def imported_modules(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, wherever it stands."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # `from deliveries import engine` names a module too.
            found.extend((node.lineno, f"{target}.{alias.name}") for alias in node.names)
    return found


def upward_imports() -> list[str]:
    problems = []
    for module, path in project_modules():
        source_app = app_of(module)
        assert source_app is not None
        for line, target in imported_modules(module, path):
            target_app = app_of(target)
            if target_app is None or target_app == source_app or source_app == WIRING:
                continue
            where = f"{path.relative_to(ROOT)}:{line} imports {target}"
            if target_app == WIRING:
                problems.append(f"{where} (config only wires; nothing imports it)")
            elif layer_of(target_app) >= layer_of(source_app):
                problems.append(f"{where} ({target_app} is not below {source_app})")
    return problems


def test_no_module_imports_upward_or_sideways() -> None:
    assert upward_imports() == []


def test_the_engine_is_plain_python() -> None:
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for module, path in project_modules()
        if app_of(module) == "deliveries.engine"
        for line, target in imported_modules(module, path)
        if target.split(".")[0] in {"django", "rest_framework", "celery"}
        or (app_of(target) not in (None, "deliveries.engine"))
    ]
    assert offending == []


@pytest.mark.parametrize(
    ("source", "statement"),
    [
        ("webhooks/services.py", "def f():\n    from deliveries.models import Delivery\n"),
        ("deliveries/engine/http.py", "import django.conf\n"),
        ("events/models.py", "from config import settings\n"),
        ("dashboard/views/access.py", "from api.plumbing import found_or_404\n"),
    ],
)
def test_the_guard_catches_an_upward_import_even_inside_a_function(
    source: str, statement: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a copy of the tree where one module gains a forbidden import
    original = Path.read_text
    target = ROOT / source

    def with_extra_import(path: Path, *args: object, **kwargs: object) -> str:
        text = original(path, *args, **kwargs)
        return text + "\n" + statement if path == target else text

    monkeypatch.setattr(Path, "read_text", with_extra_import)

    # when / then
    problems = upward_imports()
    engine_problem = source.startswith("deliveries/engine/")
    if engine_problem:
        with pytest.raises(AssertionError):
            test_the_engine_is_plain_python()
    else:
        assert any(source in problem for problem in problems), problems
