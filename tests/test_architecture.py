"""Architecture rules for genlab, checked on the source text with ``ast`` (no genlab module is imported)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import NamedTuple

SRC = Path(__file__).resolve().parents[1] / "src" / "genlab"

# The layering below encodes these rules (a part may import only parts in strictly lower layers):
# - errors and version are leaves: they import nothing from genlab.
# - registry (the one Registry class of models, datasets, metrics, objectives) knows only errors.
# - ops and nn know no models: tensor maths and network blocks never import models, losses or data.
# - config knows no registry: the model registry lives in models, so config sits below it.
# - files, devices and viz are plumbing: they know no datasets, networks or models; charts (every curve genlab
#   draws, as SVG) sits right above them and knows no more.
# - data knows no networks: datasets never import nn, losses or models (same layer, so forbidden).
# - models know no training loop, runs, metrics or evaluation; runs (checkpoints) and samplers sit on models.
# - metrics and export know no training loop; evaluation builds on them, training builds on evaluation, and so does
#   pretrained (genlab.load of any folder, Hub downloads, save_pretrained's files; the card is the apps').
# - the core (everything outside genlab.apps) never imports the applications in genlab.apps.
# - among the apps, translate, compare and adapt do not import each other; report builds on them, the
#   server and demo on reports, and only the CLI (and __main__) sits above them all.
# - the root package genlab is a facade: no part imports it (take __version__ from genlab.version).
CORE = (
    ("errors", "version"),
    ("registry",),
    ("files",),  # atomic writes, bounded JSON reads, locks: what every layer above stores and reads with
    ("devices", "distributed", "optim", "ops", "config", "viz", "progress"),
    ("charts",),
    ("nn", "losses", "data"),
    ("models",),
    ("runs", "samplers"),
    ("metrics", "export"),
    ("evaluation",),
    ("training", "pretrained"),  # pretrained: every folder genlab.load reads, save_pretrained's files
    ("testing",),  # helpers for tests and benchmarks, on top of the core
)
APPS = (
    ("apps",),  # the package's own __init__: a docstring only
    ("apps.translate", "apps.compare", "apps.adapt", "apps.train"),  # train: what a run needs first
    ("apps.report",),
    ("apps.server", "apps.demo", "apps.api"),  # api: genlab.train for scripts and notebooks
    ("apps.cli",),
    ("apps.testing",),  # helpers that drive the CLI and the studio in tests and benchmarks
)
LAYERS = (*CORE, *APPS, ("__main__", "genlab"))  # a part may import only parts in lower layers
LAYER_OF = {part: i for i, layer in enumerate(LAYERS) for part in layer}
MAX_FILE_LINES, MAX_FUNCTION_LINES = 400, 40


class Edge(NamedTuple):
    src: str  # importing module, e.g. "genlab.training.loop"
    dst: str  # imported module, e.g. "genlab.data"
    where: str  # "genlab/training/loop.py:20"
    stmt: str  # the import statement as written


def module_files(root: Path) -> dict[str, Path]:
    """Map each dotted module name in the package at ``root`` to its file."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def import_targets(node: ast.AST, module: str, is_pkg: bool, modules: dict[str, Path]) -> list[str]:
    """Modules of the package that one import statement (found in ``module``) refers to."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = node.module.split(".") if node.module else []
    if node.level:
        package = module.split(".") if is_pkg else module.split(".")[:-1]
        base = package[: len(package) - (node.level - 1)] + base
    base_name = ".".join(base)
    return [f"{base_name}.{a.name}" if f"{base_name}.{a.name}" in modules else base_name for a in node.names]


def build_graph(root: Path) -> tuple[dict[str, Path], list[Edge]]:
    """All import edges between modules of the package at ``root``, from imports anywhere in each file."""
    modules, edges, top = module_files(root), [], root.name
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            for dst in import_targets(node, module, path.name == "__init__.py", modules):
                if (dst == top or dst.startswith(top + ".")) and dst != module:
                    where = f"{path.relative_to(root.parent).as_posix()}:{node.lineno}"
                    edges.append(Edge(module, dst, where, ast.unparse(node)))
    return modules, sorted(set(edges), key=lambda e: (e.where, e.dst))


def part_of(module: str) -> str:
    """The first component under the root package (the root itself for the root package); under ``apps``, the
    first two (``apps.cli``), since each application is a part of its own."""
    parts = module.split(".")
    if len(parts) > 2 and parts[1] == "apps":
        return ".".join(parts[1:3])
    return parts[1] if len(parts) > 1 else parts[0]


def import_cycles(edges: list[Edge], limit: int = 50) -> list[list[Edge]]:
    """Every elementary cycle (as its edges, up to ``limit``), found within strongly connected components."""
    graph: dict[str, dict[str, Edge]] = {}
    for e in edges:
        graph.setdefault(e.src, {}).setdefault(e.dst, e)
        graph.setdefault(e.dst, {})
    index, low, stack, on_stack, sccs = {}, {}, [], set(), []

    def strongconnect(v: str) -> None:  # Tarjan; the graph has only ~100 modules, so recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                scc.add(w)
                if w == v:
                    break
            if len(scc) > 1:
                sccs.append(scc)

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    cycles: list[list[Edge]] = []
    for scc in sccs:
        for start in sorted(scc):  # each cycle is listed once, from its alphabetically first module
            cycles += simple_cycles(graph, scc, start, [], limit)
    return cycles[:limit]


def simple_cycles(graph, scc: set[str], start: str, path: list[Edge], limit: int) -> list[list[Edge]]:
    """Cycles back to ``start`` that continue ``path`` through modules of ``scc`` sorting after ``start``."""
    found, here = [], path[-1].dst if path else start
    for w, edge in sorted(graph[here].items()):
        if w == start:
            found.append(path + [edge])
        elif w in scc and w > start and all(w != e.dst for e in path) and len(found) < limit:
            found += simple_cycles(graph, scc, start, path + [edge], limit - len(found))
    return found


def describe(edge: Edge) -> str:
    return f"{edge.where}: {edge.src} -> {edge.dst}  [{edge.stmt}]"


MODULES, EDGES = build_graph(SRC)


def test_every_part_is_placed_in_a_layer():
    """Every top-level module or package on disk is listed in LAYERS, and every listed part exists."""
    on_disk = {part_of(m) for m in MODULES}
    unlisted = sorted(on_disk - LAYER_OF.keys())
    missing = sorted(LAYER_OF.keys() - on_disk)
    assert not unlisted, f"parts on disk but not in LAYERS (place them deliberately): {unlisted}"
    assert not missing, f"parts in LAYERS but not on disk under {SRC}: {missing}"


def test_imports_go_strictly_down_the_layers():
    """Every import between two parts goes from a higher layer to a strictly lower one."""
    bad = []
    for e in EDGES:
        src, dst = part_of(e.src), part_of(e.dst)
        if src == dst:
            continue
        if src not in LAYER_OF or dst not in LAYER_OF:
            bad.append(f"{describe(e)}  (part {src if src not in LAYER_OF else dst!r} is not in LAYERS)")
        elif LAYER_OF[dst] >= LAYER_OF[src]:
            bad.append(f"{describe(e)}  ({src} is in layer {LAYER_OF[src]}, {dst} in layer {LAYER_OF[dst]})")
    assert not bad, "imports that break the layering:\n" + "\n".join(bad)


def test_no_import_cycles():
    """The module-level import graph of genlab has no cycles."""
    cycles = import_cycles(EDGES)
    report = [
        "cycle: " + " -> ".join([c[0].src] + [e.dst for e in c]) + "\n" + "\n".join("    " + describe(e) for e in c)
        for c in cycles
    ]
    assert not cycles, f"{len(cycles)} import cycle(s):\n" + "\n".join(report)


def test_the_core_never_imports_the_apps():
    """No module outside genlab.apps imports anything inside it (the root facade and __main__ excepted)."""
    core = {part for layer in CORE for part in layer}
    bad = [describe(e) for e in EDGES if part_of(e.src) in core and part_of(e.dst).startswith("apps")]
    assert not bad, "the core imports an application:\n" + "\n".join(bad)


def test_training_loop_knows_no_dataset_by_name():
    """Modules under genlab/training import genlab.data only as the package, never a submodule."""
    bad = [describe(e) for e in EDGES if e.src.startswith("genlab.training") and e.dst.startswith("genlab.data.")]
    assert not bad, "genlab.training imports dataset modules by name:\n" + "\n".join(bad)


def body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """A function's lines from its first statement after the docstring to its last: the signature and the
    docstring, which the formatter lays out one parameter a line, do not count."""
    body = node.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return node.end_lineno - body[0].lineno + 1


def test_files_and_functions_are_small():
    """No file over MAX_FILE_LINES lines and no function body over MAX_FUNCTION_LINES lines."""
    bad = []
    for path in MODULES.values():
        text, rel = path.read_text(encoding="utf-8"), path.relative_to(SRC.parent).as_posix()
        if len(text.splitlines()) > MAX_FILE_LINES:
            bad.append(f"{rel}:1: file has {len(text.splitlines())} lines (max {MAX_FILE_LINES})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and body_lines(node) > MAX_FUNCTION_LINES:
                bad.append(
                    f"{rel}:{node.lineno}: {node.name}() has a body of {body_lines(node)} lines "
                    f"(max {MAX_FUNCTION_LINES})"
                )
    assert not bad, "too large:\n" + "\n".join(sorted(bad))


def test_graph_builder_on_a_synthetic_package(tmp_path):
    """The builder resolves relative, absolute, nested and TYPE_CHECKING imports, and finds a cycle."""
    pkg = tmp_path / "fake"
    files = {
        "__init__.py": "from . import a\nfrom .a import thing\n",
        "a.py": "import os\nfrom .sub import c\ndef f():\n    import fake.sub\n",
        "sub/__init__.py": "from . import b\nfrom . import not_a_module\n",
        "sub/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .. import VERSION\n",
        "sub/c.py": "from ..a import thing\nfrom fake.sub import b as bee\n",
    }
    for name, text in files.items():
        (pkg / name).parent.mkdir(parents=True, exist_ok=True)
        (pkg / name).write_text(text)
    modules, edges = build_graph(pkg)
    assert set(modules) == {"fake", "fake.a", "fake.sub", "fake.sub.b", "fake.sub.c"}
    assert {(e.src, e.dst) for e in edges} == {
        ("fake", "fake.a"),
        ("fake.a", "fake.sub.c"),
        ("fake.a", "fake.sub"),
        ("fake.sub", "fake.sub.b"),
        ("fake.sub.b", "fake"),
        ("fake.sub.c", "fake.a"),
        ("fake.sub.c", "fake.sub.b"),
    }
    assert [e.where for e in edges if e.src == "fake.sub.b"] == ["fake/sub/b.py:3"], "TYPE_CHECKING import misplaced"
    cycles = import_cycles(edges)
    assert [[e.src for e in c] for c in cycles] == [
        ["fake", "fake.a", "fake.sub", "fake.sub.b"],
        ["fake", "fake.a", "fake.sub.c", "fake.sub.b"],
        ["fake.a", "fake.sub.c"],
    ], f"wrong cycles: {cycles}"
    assert all(c[-1].dst == c[0].src for c in cycles), "a reported cycle does not close"
    assert part_of("fake.sub.b") == "sub" and part_of("fake") == "fake"
    assert part_of("genlab.apps.cli.train") == "apps.cli" and part_of("genlab.apps") == "apps"
