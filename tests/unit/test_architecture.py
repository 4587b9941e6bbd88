"""The layout shows the architecture, and keeps showing it.

* no import cycle between telework's modules, counting imports inside functions too, and every
  module imports on its own in a fresh interpreter;
* pyinfra is imported only by the engine (telework.engine) and by the roles' own pyinfra layer
  (telework.roles.<role>.facts / .operations); pyinfra's internals only by telework.engine.adapter;
* the packages pyproject.toml lists are exactly the packages on disk;
* every role of the registry has its deploy file, suite, templates and group data under one name;
* every path README.md and the docstrings name exists.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from telework.roles.registry import ROLES

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
PACKAGE = SRC / "telework"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(SRC).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(imported module, names, line) of every import statement, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([module] if module else []))
            out.append((module, [a.name for a in node.names], node.lineno))
    return out


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for module, names, _line in _imports(name, path):
            if not module.startswith("telework"):
                continue
            targets = [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES] or [module]
            for target in targets:
                while target not in MODULES and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target in MODULES and target != name:
                    graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_even_through_imports_inside_functions():
    assert _cycles(_graph()) == []


def test_every_module_imports_in_a_fresh_interpreter():
    """Every module, imported one after the other in a new interpreter (a cycle that the order
    happens to hide shows in the static check above)."""
    names = [n for n in MODULES if not n.endswith("__main__")]
    script = (
        "import importlib, json\n"
        f"names = {names!r}\n"
        "bad = {}\n"
        "for name in names:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception as exc:\n"
        "        bad[name] = f'{type(exc).__name__}: {exc}'\n"
        "print(json.dumps(bad))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {}


#: pyinfra's documented API, as telework uses it outside the adapter
DOCUMENTED = {
    "pyinfra": {"host", "local", "logger"},
    "pyinfra.api": {"FactBase", "operation", "deploy", "StringCommand", "FileUploadCommand", "QuoteString",
                    "OperationError", "Config", "Inventory", "State"},
    "pyinfra.api.command": {"FileUploadCommand", "FunctionCommand", "StringCommand"},
    "pyinfra.api.connect": {"connect_all", "disconnect_all"},
    "pyinfra.api.operations": {"run_ops"},
    "pyinfra.api.state": {"BaseStateCallback", "StateStage"},
    "pyinfra.api.exceptions": {"PyinfraError"},
    "pyinfra.connectors.ssh": {"SSHConnector"},
    "pyinfra.facts.files": {"FileContents"},
    "pyinfra.operations": {"server", "systemd", "files", "apt"},
}
#: modules that may import pyinfra at all: the engine and each role's own pyinfra layer
PYINFRA_LAYER = re.compile(r"^telework\.(engine(\..+)?|roles\.[a-z_]+\.(facts|operations))$")


def _pyinfra_imports():
    for name, path in MODULES.items():
        for module, names, line in _imports(name, path):
            if module == "pyinfra" or module.startswith(("pyinfra.", "pyinfra_cli")):
                yield name, module, names, line


def test_pyinfra_is_imported_only_by_the_engine_and_the_roles_pyinfra_layer():
    outside = [f"{n}:{line} imports {m}" for n, m, _, line in _pyinfra_imports() if not PYINFRA_LAYER.match(n)]
    assert outside == []


def test_pyinfra_internals_are_read_only_by_the_adapter():
    internal = []
    for name, module, names, line in _pyinfra_imports():
        if name == "telework.engine.adapter":
            continue
        allowed = DOCUMENTED.get(module)
        if allowed is None or not set(names) <= allowed:
            internal.append(f"{name}:{line}: from {module} import {', '.join(names)}")
    assert internal == []


def test_the_pinned_pyinfra_is_the_one_the_contract_tests_know():
    from telework.engine.adapter import TESTED_MINOR

    spec = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pin = next(d for d in spec if d.startswith("pyinfra"))
    major, minor = TESTED_MINOR.split(".")
    assert pin == f"pyinfra>={TESTED_MINOR},<{major}.{int(minor) + 1}"
    import pyinfra  # noqa: F401
    from importlib.metadata import version

    assert version("pyinfra").startswith(TESTED_MINOR + ".")


def test_pyproject_lists_exactly_the_packages_on_disk():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    on_disk = {n for n, p in MODULES.items() if p.name == "__init__.py"}
    mapped = {f"telework.resources.{k.rsplit('.', 1)[1]}" for k in config["package-dir"] if k.startswith("telework.resources.")}
    assert listed == on_disk | mapped, f"add to or remove from pyproject.toml: {sorted(listed ^ (on_disk | mapped))}"
    for package, directory in config["package-dir"].items():
        assert (REPO / directory / "__init__.py").is_file(), f"{directory}/__init__.py makes {package} a package"


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.name)
def test_every_role_has_its_files_under_one_name(role):
    assert (REPO / "tests" / "hosts" / role.suite).is_file(), f"tests/hosts/{role.suite}"
    if role.kind == "ssh":
        assert (REPO / "deploy" / role.deploy_file).is_file(), f"deploy/{role.deploy_file}"
    if len(role.groups) == 1:
        assert (REPO / "group_data" / f"{role.groups[0]}.py").is_file(), f"group_data/{role.groups[0]}.py"
    package = role.package.replace(".", "/")
    assert (SRC / package / "__init__.py").is_file() or (SRC / (package + ".py")).is_file(), role.package
    for target in [*role.cli.values(), *role.person_commands.values(), *role.lab_commands.values(),
                   *([role.person_view] if role.person_view else []),
                   *([role.firewall] if role.firewall else [])]:
        module, attribute = target.split(":")
        assert module in MODULES and re.search(rf"^(def|class)? ?{attribute}\b|^def {attribute}\(",
                                               MODULES[module].read_text(), re.M), target


def test_deploy_files_are_roles_of_the_registry():
    """Every deploy file but site.py belongs to a role (no deploy nobody runs)."""
    names = {r.deploy_file for r in ROLES if r.deploy_file}
    files = {p.name for p in (REPO / "deploy").glob("*.py") if p.name not in ("site.py", "__init__.py")}
    assert files == names


#: a path in prose: starts at a top-level directory of the repository (or src/telework)
_PATH = re.compile(r"(?<![\w./-])((?:src/telework|deploy|templates|group_data|inventory|tests|benchmarks|examples|scripts)"
                   r"/[\w./<>*-]*[\w*>])")


def _named_paths(text: str) -> set[str]:
    out = set()
    for path in _PATH.findall(text):
        path = path.rstrip(".")
        if "<" in path or "*" in path:  # a pattern: its fixed directory part must exist
            path = re.split(r"[<*]", path, maxsplit=1)[0].rsplit("/", 1)[0]
        out.add(path)
    return out


def _docstrings() -> dict[str, str]:
    out = {}
    for path in [*PACKAGE.rglob("*.py"), *(REPO / "deploy").glob("*.py"), *(REPO / "group_data").glob("*.py"),
                 *(REPO / "tests").rglob("*.py"), *(REPO / "benchmarks").glob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = [ast.get_docstring(n) for n in ast.walk(tree)
                if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]
        out[str(path.relative_to(REPO))] = "\n".join(d for d in docs if d)
    return out


def test_every_path_named_in_the_readme_and_the_docstrings_exists():
    texts = {"README.md": (REPO / "README.md").read_text(encoding="utf-8"), **_docstrings()}
    missing = sorted({f"{where}: {path}" for where, text in texts.items() for path in _named_paths(text)
                      if not (REPO / path).exists()})
    assert missing == []


def _group_data_definitions() -> dict[str, list[tuple[str, int, bool]]]:
    """name -> [(file, line, documented: a comment right above it or above its block)]."""
    out: dict[str, list] = {}
    for path in sorted((REPO / "group_data").glob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            found = re.match(r"^([a-z][a-z0-9_]*) = ", line)
            if not found:
                continue
            above = number - 1
            while above >= 0 and re.match(r"^[a-z][a-z0-9_]* = ", lines[above]):
                above -= 1  # a block of related values shares one comment
            documented = above >= 0 and lines[above].startswith("#")
            out.setdefault(found.group(1), []).append((path.name, number + 1, documented))
    return out


#: host data a deploy may read that no role defines: pyinfra's connection and telework's own
_GIVEN = re.compile(r"^(ssh_.*|telework_.*|apt_proxy)$")


@pytest.mark.parametrize("role", [r for r in ROLES if r.kind == "ssh"], ids=lambda r: r.name)
def test_role_data_is_namespaced_defined_once_and_documented(role):
    """Every default a deploy reads is defined in group_data once, with a comment saying why,
    and starts with the role's prefix (or is shared in all.py)."""
    defined = _group_data_definitions()
    text = (REPO / "deploy" / role.deploy_file).read_text(encoding="utf-8")
    used = set(re.findall(r"host\.data\.([a-z0-9_]+)", text)) | set(re.findall(r"host\.data\.get\(\"([a-z0-9_]+)\"", text))
    used -= {"get"}
    for name in sorted(used):
        if _GIVEN.match(name):
            continue
        places = defined.get(name)
        assert places, f"deploy/{role.deploy_file} reads {name}, which no group_data file defines"
        assert len(places) == 1, f"{name} is defined in {places}: define it once"
        file, line, documented = places[0]
        assert documented, f"group_data/{file}:{line}: {name} needs a comment saying what it is for"
        assert name.startswith(role.data_prefix) or file == "all.py", \
            f"{name} (group_data/{file}) is read by {role.name}: name it {role.data_prefix}..."


def test_no_group_data_default_is_defined_twice():
    twice = {name: places for name, places in _group_data_definitions().items() if len(places) > 1}
    assert twice == {}
