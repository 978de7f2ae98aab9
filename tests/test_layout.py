"""The `cases` app's dependencies point one way and never in a circle.

Web (views, forms, presenters), admin, inbound email and tasks call the services; the
services call the outbox and the domain (models, policy, attachments, text); nothing
below calls back up. Read from the source, so a lazy import inside a function counts
too; imports only for type checkers do not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "cases"

# Callers: nothing in the layers below may import them.
CALLERS = (
    "cases.views",
    "cases.forms",
    "cases.presenters",
    "cases.status_diagram",
    "cases.urls",
    "cases.admin",
    "cases.inbound",
    "cases.tasks",
    "cases.apps",
    "cases.management",
)
SERVICES = ("cases.services",)
# The outbox and the domain: they may not call the services either.
BELOW_SERVICES = (
    "cases.outbox",
    "cases.models",
    "cases.policy",
    "cases.coverage",
    "cases.attachments",
    "cases.text",
    "cases.exceptions",
    "cases.selectors",
    "cases.email_actions",
    "cases.invariants",
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, module: str) -> set[str]:
    """The `cases` modules `module` imports, as dotted names."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            # `from cases import services` imports the module `cases.services`.
            for alias in node.names:
                candidate = f"{target}.{alias.name}"
                if _path_of(candidate) is not None:
                    found.add(candidate)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), filename=str(path)))
    return {name for name in found if name.startswith("cases.") and name != module}


def _path_of(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _graph() -> dict[str, set[str]]:
    graph = {}
    for path in sorted(CASES.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        module = _module_name(path)
        graph[module] = {name for name in _imports(path, module) if _path_of(name)}
    return graph


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, if any (a package's `__init__` re-exporting its own modules,
    which import each other directly, is not one)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target.startswith(node + "."):
                continue  # a package importing its own modules
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if state.get(target) is None and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if state.get(node) is None and (found := visit(node)):
            return found
    return None


def test_the_cases_app_has_no_import_cycle():
    assert _cycle(_graph()) is None


def test_the_cycle_check_finds_a_cycle():
    assert _cycle({"cases.a": {"cases.b"}, "cases.b": {"cases.a"}}) == [
        "cases.a",
        "cases.b",
        "cases.a",
    ]


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        (SERVICES, CALLERS),
        (BELOW_SERVICES, CALLERS + SERVICES),
    ],
    ids=["services", "outbox-and-domain"],
)
def test_no_import_points_up_the_layers(layer, forbidden):
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in _graph().items()
        if _within(module, layer)
        for target in targets
        if _within(target, forbidden)
    )
    assert wrong == []


def test_models_package_still_exports_every_model():
    from django.apps import apps

    import cases.models

    for model in apps.get_app_config("cases").get_models():
        assert getattr(cases.models, model.__name__) is model
