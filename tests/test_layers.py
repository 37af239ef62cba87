"""One-way package layers: no module imports a module of a higher layer, and module imports form no cycle.

The graph is read from the source with :mod:`ast` (nothing is imported): every ``import`` and
``from ... import`` anywhere in a module (top level, inside functions, behind ``if``), plus module
names in strings where lazy imports keep them: module-level tables (``_EXPORTS``,
``LAZY_COMMANDS``) and the arguments of ``import_module``/``find_spec``/``__import__`` calls.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "humokit"

# The allowed order, lowest first; a module may import its own layer and those before it.
# Prefixes match a package and everything below it. A layer may hold several packages.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", ("humokit.errors", "humokit._paths", "humokit._io", "humokit._deprecated")),
    ("motion", ("humokit", "humokit.motion")),  # "humokit" = the root __init__ (Motion, Skeleton)
    ("body", ("humokit.body",)),
    ("priors", ("humokit.priors",)),
    ("render", ("humokit.render",)),
    ("optim", ("humokit.optim",)),
    ("avatars", ("humokit.avatars",)),
    ("video", ("humokit.video",)),
    ("faces: export, info, demo", ("humokit.export", "humokit.info", "humokit.demo")),
    ("faces: viewer", ("humokit.viewer",)),
    ("faces: cli", ("humokit.cli",)),
)

# The only modules allowed to name modules of higher layers: the old-path re-exports kept for one
# release (each names its targets only when an old path is used).
DEPRECATED_SHIMS = frozenset({"humokit._deprecated"})


def module_files() -> dict[str, tuple[Path, bool]]:
    """``{dotted module name: (file, is_package)}`` for every ``.py`` under ``humokit/``."""
    out = {}
    for f in sorted(PACKAGE.rglob("*.py")):
        parts = list(f.relative_to(ROOT).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (f, is_pkg)
    return out


def _resolve(name: str, modules: dict[str, tuple[Path, bool]]) -> str | None:
    """The longest known module that ``name`` (a module or ``module.attribute``) starts with."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _named(tree: ast.AST, module: str, is_pkg: bool) -> Iterator[tuple[str, int]]:
    """Dotted humokit names a module imports (with their line numbers)."""
    package = module if is_pkg else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                yield f"{target}.{alias.name}", node.lineno  # a submodule or a name in ``target``
    lazy: list[ast.AST] = [n.value for n in getattr(tree, "body", []) if isinstance(n, (ast.Assign, ast.AnnAssign))
                           and isinstance(n.value, (ast.Dict, ast.Tuple, ast.List, ast.Set))]
    lazy += [a for n in ast.walk(tree) if isinstance(n, ast.Call) and _called(n) in _IMPORTERS for a in n.args[:1]]
    for value in lazy:
        for node in ast.walk(value) if value is not None else ():
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _MODULE_NAME.fullmatch(node.value):
                yield node.value, node.lineno


_IMPORTERS = frozenset({"import_module", "find_spec", "__import__"})
_MODULE_NAME = re.compile(r"humokit(\.[A-Za-z_][A-Za-z0-9_]*)+")


def _called(call: ast.Call) -> str:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def import_graph() -> dict[str, dict[str, int]]:
    """``{module: {imported module: first line}}`` over humokit's own modules (self-edges dropped)."""
    modules = module_files()
    graph: dict[str, dict[str, int]] = {}
    for mod, (path, is_pkg) in modules.items():
        edges: dict[str, int] = {}
        for name, line in _named(ast.parse(path.read_text(), str(path)), mod, is_pkg):
            if name != "humokit" and not name.startswith("humokit."):
                continue
            target = _resolve(name, modules)
            if target is not None and target != mod:
                edges.setdefault(target, line)
        graph[mod] = edges
    return graph


def layer_of(module: str) -> int:
    """Index in :data:`LAYERS` of the longest matching prefix (``"humokit"`` matches only the root module).

    A private top-level module not listed (``humokit._options``, ``humokit._limits``, ...) is a
    helper below every package: the base layer.
    """
    best, best_len = None, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if (module == p or (p != "humokit" and module.startswith(p + "."))) and len(p) > best_len:
                best, best_len = i, len(p)
    if best is None and re.fullmatch(r"humokit\._\w+", module):
        best = 0
    if best is None:
        raise AssertionError(f"{module} belongs to no layer: add its package to LAYERS in {__file__}")
    return best


def upward_imports(graph: dict[str, dict[str, int]]) -> list[str]:
    bad = []
    for mod, edges in sorted(graph.items()):
        if mod in DEPRECATED_SHIMS:
            continue
        for target, line in sorted(edges.items()):
            if layer_of(target) > layer_of(mod):
                bad.append(f"{mod} (layer {LAYERS[layer_of(mod)][0]}) imports {target} "
                           f"(layer {LAYERS[layer_of(target)][0]}) at line {line}")
    return bad


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One import cycle as a module path ``[a, b, ..., a]``, or None (depth-first search)."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph.get(m, {})):
            if t in DEPRECATED_SHIMS:
                continue
            if state.get(t) == 1:
                return stack[stack.index(t):] + [t]
            if t not in state and (c := visit(t)):
                return c
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and m not in DEPRECATED_SHIMS and (c := visit(m)):
            return c
    return None


def test_every_module_has_a_layer():
    for mod in module_files():
        layer_of(mod)


def test_no_upward_imports():
    bad = upward_imports(import_graph())
    assert not bad, "imports against the layer order:\n" + "\n".join(bad)


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_viewer_imported_only_by_the_cli():
    graph = import_graph()
    users = sorted(m for m, edges in graph.items() if not m.startswith("humokit.viewer")
                   and any(t.startswith("humokit.viewer") for t in edges) and m not in DEPRECATED_SHIMS)
    assert users == ["humokit.cli"], users


def test_checker_sees_lazy_and_string_imports(tmp_path):
    """The walker finds imports inside functions and module names in strings, and reports both faults."""
    src = ("def f():\n    from humokit.cli import main\n    meta = {'source': 'humokit.video'}\n"
           "    return importlib.import_module('humokit.avatars')\n\nLAZY = {'x': 'humokit.optim.recover'}\n"
           "log = logging.getLogger('humokit.render')\n")
    names = {n for n, _ in _named(ast.parse(src), "humokit.motion.fake", False)}
    assert names == {"humokit.cli.main", "humokit.avatars", "humokit.optim.recover"}
    graph = {"humokit.motion.fake": {"humokit.cli": 2}, "humokit.body.a": {"humokit.body.b": 1},
             "humokit.body.b": {"humokit.body.a": 1}}
    assert upward_imports(graph) == ["humokit.motion.fake (layer motion) imports humokit.cli (layer faces: cli) at line 2"]
    assert find_cycle(graph) == ["humokit.body.a", "humokit.body.b", "humokit.body.a"]


def test_layer_lookup():
    """The root matches only itself, unlisted private top-level modules are base, unknown packages fail."""
    assert LAYERS[layer_of("humokit")][0] == "motion"
    assert LAYERS[layer_of("humokit._options")][0] == "base"
    assert LAYERS[layer_of("humokit.priors.cli")][0] == "priors"
    with pytest.raises(AssertionError, match="belongs to no layer"):
        layer_of("humokit.newpackage.module")
