"""The import graph of a genlab source tree, read with ``ast`` (nothing is imported): part-level edges, the
strongly connected groups of parts, module-level cycles, and the largest file and function.

    python benchmarks/import_graph.py [SRC/genlab]     # default: this checkout's src/genlab
    git archive REV src | tar -x -C /tmp/old && python benchmarks/import_graph.py /tmp/old/src/genlab
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def architecture_test():
    """tests/test_architecture.py, whose graph builder this script reports with."""
    spec = importlib.util.spec_from_file_location("test_architecture", ROOT / "tests" / "test_architecture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def part_groups(edges: set[tuple[str, str]]) -> list[list[str]]:
    """Groups of parts that import each other, directly or not (each of more than one part)."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    groups = []
    for part in sorted(graph):
        group = sorted(p for p in reach(part) if part in reach(p))
        if len(group) > 1 and group not in groups:
            groups.append(group)
    return groups


def largest(modules: dict[str, Path]) -> tuple[tuple[int, str], tuple[int, str]]:
    """(lines, file) of the longest file and (lines, name) of the longest function."""
    files, functions = [], []
    for name, path in modules.items():
        text = path.read_text(encoding="utf-8")
        files.append((len(text.splitlines()), name))
        functions += [
            (node.end_lineno - node.lineno + 1, f"{name}.{node.name}")
            for node in ast.walk(ast.parse(text))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        ]
    return max(files), max(functions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src", nargs="?", default=str(ROOT / "src" / "genlab"))
    args = parser.parse_args()
    arch = architecture_test()
    modules, edges = arch.build_graph(Path(args.src))
    parts = {(arch.part_of(e.src), arch.part_of(e.dst)) for e in edges if arch.part_of(e.src) != arch.part_of(e.dst)}
    (file_lines, file_name), (function_lines, function_name) = largest(modules)
    print(
        f"{len(modules)} modules, {len(parts)} part-level edges, {len(arch.import_cycles(edges))} module-level "
        f"cycles (up to 50 listed by the test); largest file {file_name} ({file_lines} lines), longest function "
        f"{function_name} ({function_lines} lines)"
    )
    print("parts that import each other:", part_groups(parts) or "none")
    for part in sorted({a for a, _ in parts}):
        print(f"  {part} -> {', '.join(sorted(b for a, b in parts if a == part))}")


if __name__ == "__main__":
    main()
