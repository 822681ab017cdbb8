"""The package's shape (docs/architecture.md): layers without import cycles, modules of a
readable size, every command in the CLI, and the light commands kept light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from sim.schema import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "sim"
MAX_LINES = 500
# Libraries the light commands (--help, list, validate) must not load.
HEAVY = ("matplotlib", "pandas", "pyarrow", "mesa", "distributed", "dask", "scipy", "SALib")


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The project modules a module imports, at the top or inside functions, leaving out
    imports made only for type checkers."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    this = module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking_only(child):
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in child.names)
            visit(child)

    visit(tree)
    return {name for name in found if name in known and name != this}


def import_graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports_of(path, known) for name, path in found.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the list of modules along it, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            # importing a package's submodule runs the package first: not a cycle by itself
            if node.startswith(nxt + "."):
                continue
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := walk(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := walk(node)):
            return cycle
    return None


def test_no_import_cycles():
    assert find_cycle(import_graph()) is None, " -> ".join(find_cycle(import_graph()) or [])


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_modules_stay_readable():
    long = {
        name: count
        for name, path in modules().items()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_only_the_cli_parses_arguments_and_nothing_imports_it():
    graph = import_graph()
    cli = {name for name in graph if name == "sim.cli" or name.startswith("sim.cli.")}
    for name, path in modules().items():
        if name in cli:
            continue
        text = path.read_text(encoding="utf-8")
        assert "argparse" not in text, f"{name} uses argparse: commands live in sim.cli"
        assert not graph[name] & cli, f"{name} imports the CLI"
        assert "__import__(" not in text and "import_module(" not in text, (
            f"{name} imports dynamically"
        )


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["list"],
        ["validate", "sprint_race"],
        *(
            [command, "--help"]
            for command in (
                "run",
                "ensemble",
                "sweep",
                "sensitivity",
                "compare",
                "dashboard",
                "calibrate",
            )
        ),
    ],
)
def test_light_commands_load_no_heavy_library(argv):
    probe = (
        "import sys\n"
        "from sim.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print('heavy:' + ','.join(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=60,
        check=True,
    )
    loaded = done.stdout.rpartition("heavy:")[2].strip()
    assert loaded == "", f"killline {' '.join(argv)} loaded {loaded}"
