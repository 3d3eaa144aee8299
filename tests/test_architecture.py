"""DESIGN.md "Boundaries, enforced": the import contracts in pyproject.toml ([tool.importlinter])
hold, and no module of Prism imports itself round a circle (imports inside functions included:
grimp reads every import statement, wherever it stands)."""

import subprocess
import sys
from pathlib import Path

import grimp
from django.conf import settings

PACKAGES = ("accounts", "insights", "sandbox", "config")


def test_the_import_contracts_hold():
    """`lint-imports` (the same check a developer runs by hand) keeps every contract; a broken
    one fails here with import-linter's report: which import, at which line."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run(
        [str(lint_imports), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's, iterative)."""
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in edges:  # not one of ours
                    continue
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
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
                    cycles.append(sorted(component))
    return cycles


def describe(graph: grimp.ImportGraph, cycle: list[str]) -> str:
    members = set(cycle)
    lines = []
    for importer in cycle:
        for imported in sorted(set(graph.find_modules_directly_imported_by(importer)) & members):
            details = graph.get_import_details(importer=importer, imported=imported)
            at = ", ".join(str(d["line_number"]) for d in details)
            lines.append(f"  {importer} -> {imported} (line {at})")
    return "\n".join(lines)


def test_no_module_imports_itself_round_a_circle():
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    cycles = import_cycles(graph)
    report = "\n\n".join(describe(graph, cycle) for cycle in cycles)
    assert not cycles, f"{len(cycles)} import cycle(s):\n{report}"


def test_the_cycle_finder_finds_a_cycle_through_an_import_inside_a_function():
    graph = grimp.ImportGraph()
    for name in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(name)
    graph.add_import(importer="pkg.a", imported="pkg.b", line_number=3, line_contents="")
    graph.add_import(importer="pkg.b", imported="pkg.c", line_number=4, line_contents="")
    graph.add_import(importer="pkg.c", imported="pkg.a", line_number=9, line_contents="")
    assert import_cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]
    graph.remove_import(importer="pkg.c", imported="pkg.a")
    assert import_cycles(graph) == []


def test_a_task_enqueued_by_name_is_found_where_its_module_was_never_imported():
    """config.enqueue sends tasks by name (models and services never import the task modules):
    a process that has not imported them (a management command, a shell) finds them the way a
    worker does."""
    code = (
        "import django, sys; django.setup();"
        "from config import enqueue;"
        "assert 'insights.tasks' not in sys.modules;"
        "print(enqueue.task('insights.tasks.send_account_notice').name,"
        " enqueue.task('accounts.tasks.send_invitation').name)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
        env={"DJANGO_SETTINGS_MODULE": "config.settings", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert out.stdout.split() == [
        "insights.tasks.send_account_notice",
        "accounts.tasks.send_invitation",
    ]
