"""The import rule and the size of the house, checked on the source (docs/ARCHITECTURE.md explains the layers).

Every module under ``sempelmas/`` is parsed with ``ast``; every import counts, at any depth: a function-local
import is an import all the same (it only moves the cost to the first call), so it neither hides a cycle nor
makes an upward import legal.

Layers, bottom up (a module may import its own layer and the layers below it, never one above):

- ``sempelmas.domain``: pure rules. Nothing of ours but the domain itself, and no Flask.
- infrastructure: ``sempelmas.extensions`` (the Flask extension objects, ``db`` among them), ``sempelmas.links``
  (link building) and ``sempelmas.config`` (settings). Models need ``db`` to declare their tables, so they sit
  below the models; they may use the domain.
- ``sempelmas.models``: the tables; domain and infrastructure.
- ``sempelmas.services``: the work; models, domain, infrastructure and other services (never the web or CLI).
- ``sempelmas.web`` (blueprints and what they share) and ``sempelmas.cli`` (commands): services, models, domain,
  infrastructure; the web never imports the CLI nor the CLI the web.
- ``sempelmas`` itself (``create_app``): wires everything; only it imports ``sempelmas.cli``.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "sempelmas"

#: no module longer than this (lines)
MAX_MODULE_LINES = 450
#: no folder holding directly (its own .py files, not its subfolders') more than this share of sempelmas/
MAX_FOLDER_SHARE = 0.25

#: modules allowed over MAX_MODULE_LINES, each with the reason it is one file
MODULE_SIZE_EXCEPTIONS: dict[str, str] = {
    # one declarative list of settings, each with its comment and its production check next to it: split, a
    # reader would have to look in two files for what one setting means and how it is checked
    "sempelmas/config.py": "settings with their documentation and their checks",
}
#: folders allowed over MAX_FOLDER_SHARE, each with its reason (none today)
FOLDER_SHARE_EXCEPTIONS: dict[str, str] = {}

#: layer → the layers it may import (its own included)
INFRASTRUCTURE = ("sempelmas.extensions", "sempelmas.links", "sempelmas.config")
ALLOWED = {
    "domain": {"domain"},
    "infrastructure": {"infrastructure", "domain"},
    "models": {"models", "domain", "infrastructure"},
    "services": {"services", "models", "domain", "infrastructure"},
    "web": {"web", "services", "models", "domain", "infrastructure"},
    "cli": {"cli", "services", "models", "domain", "infrastructure"},
    "app": {"app", "web", "cli", "services", "models", "domain", "infrastructure"},
}
#: third-party packages the domain must not import (it runs without the web framework)
FLASK = ("flask", "flask_", "werkzeug")


def layer_of(module: str) -> str:
    if module == "sempelmas":
        return "app"
    if module in INFRASTRUCTURE:
        return "infrastructure"
    parts = module.split(".")
    if parts[1] in ("domain", "models", "services", "web", "cli"):
        return parts[1]
    raise AssertionError(f"{module}: not in any layer; add it to one in tests/test_architecture.py")


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(module: str, path: Path) -> tuple[set[str], set[str]]:
    """(our modules this one imports, the top-level names of everything else it imports), at any depth."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    ours, others = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            names = [(source, alias.name) for alias in node.names]
        else:
            continue
        for source, name in names:
            if source.split(".")[0] != "sempelmas":
                others.add(source.split(".")[0])
                continue
            # ``from sempelmas.x import y``: the module sempelmas.x.y if there is one, else sempelmas.x
            target = f"{source}.{name}" if name and f"{source}.{name}" in MODULES else source
            if target not in MODULES:  # ``import sempelmas.x.y`` of a name: its nearest module
                while target not in MODULES:
                    target = target.rpartition(".")[0]
            ours.add(target)
    ours.discard(module)
    return ours, others


GRAPH: dict[str, set[str]] = {}
THIRD_PARTY: dict[str, set[str]] = {}
for _name, _path in MODULES.items():
    GRAPH[_name], THIRD_PARTY[_name] = _imports(_name, _path)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def test_the_import_graph_is_read():
    """The parser sees what it should (a guard against a test that passes by seeing nothing)."""
    assert len(MODULES) > 100
    assert "sempelmas.models.requests" in GRAPH["sempelmas.services.requests.lifecycle"]
    assert "sempelmas.extensions" in GRAPH["sempelmas.cli"]  # at module level
    assert "sempelmas.services.kelurahan.demo" in GRAPH["sempelmas.cli"]  # inside a command function


def test_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycles():
    cycles = _cycles(GRAPH)
    assert not cycles, "import cycles (module-level and function-local imports):\n" + "\n".join(
        " ↔ ".join(c) for c in cycles)


def test_no_upward_imports():
    wrong = []
    for module, targets in sorted(GRAPH.items()):
        mine = layer_of(module)
        for target in sorted(targets):
            if layer_of(target) not in ALLOWED[mine]:
                wrong.append(f"{module} ({mine}) imports {target} ({layer_of(target)})")
    assert not wrong, "imports against the layer rule:\n" + "\n".join(wrong)


def test_the_domain_runs_without_flask():
    wrong = [f"{module} imports {name}" for module, names in sorted(THIRD_PARTY.items())
             if layer_of(module) == "domain" for name in sorted(names) if name.startswith(FLASK)]
    assert not wrong, "the domain must not import Flask:\n" + "\n".join(wrong)


def test_no_module_over_the_size_limit():
    over = []
    for path in MODULES.values():
        name = path.relative_to(PACKAGE.parent).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES and name not in MODULE_SIZE_EXCEPTIONS:
            over.append(f"{name}: {lines} lines")
    assert not over, f"modules over {MAX_MODULE_LINES} lines (split by responsibility, or add a reason to " \
                     "MODULE_SIZE_EXCEPTIONS):\n" + "\n".join(sorted(over))


def test_size_exceptions_are_still_needed():
    """An exception that no longer applies is taken out (so the list stays a list of real exceptions)."""
    stale = [name for name in MODULE_SIZE_EXCEPTIONS
             if not (PACKAGE.parent / name).exists()
             or len((PACKAGE.parent / name).read_text(encoding="utf-8").splitlines()) <= MAX_MODULE_LINES]
    assert not stale, f"no longer over {MAX_MODULE_LINES} lines: {stale}"


def test_no_folder_holds_too_much_of_the_code():
    per_folder: dict[str, int] = defaultdict(int)
    for path in MODULES.values():
        per_folder[path.parent.relative_to(PACKAGE.parent).as_posix()] += len(
            path.read_text(encoding="utf-8").splitlines())
    total = sum(per_folder.values())
    over = [f"{folder}: {lines} of {total} lines ({lines / total:.0%})" for folder, lines in sorted(per_folder.items())
            if lines / total > MAX_FOLDER_SHARE and folder not in FOLDER_SHARE_EXCEPTIONS]
    assert not over, f"folders holding directly over {MAX_FOLDER_SHARE:.0%} of sempelmas/:\n" + "\n".join(over)
