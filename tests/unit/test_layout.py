"""The code's shape, as rules a change can break: layers import only downwards, no import cycles, short files.

Read from the source with `ast` (nothing is imported), so a rule broken anywhere fails here with the module
and the import that break it.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "webapp"
MAX_LINES = 400

# What each part may import from webapp (by dotted prefix), besides itself. Lowest layers first.
ALLOWED = {
    "webapp.clock": (),
    "webapp.errors": (),
    "webapp.model": ("webapp.errors", "webapp.clock"),
    "webapp.security": (),
    "webapp.services": ("webapp.errors", "webapp.clock", "webapp.model", "webapp.security"),
    "webapp.web": ("webapp.errors", "webapp.clock", "webapp.model", "webapp.security", "webapp.services",
                   "webapp.config"),
    "webapp.pages": ("webapp.errors", "webapp.clock", "webapp.security", "webapp.services", "webapp.web"),
    "webapp.api": ("webapp.errors", "webapp.clock", "webapp.security", "webapp.services", "webapp.web"),
}
# Third-party packages a Flask-free layer must not use.
NO_FLASK = ("flask", "flask_login", "flask_wtf", "htmx_flask", "werkzeug")
FORBIDDEN_LIBRARIES = {
    "webapp.security": NO_FLASK + ("peewee", "playhouse"),
    "webapp.services": NO_FLASK,
    "webapp.model": NO_FLASK,
    "webapp.errors": NO_FLASK + ("peewee",),
}


def module_name(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _runtime_imports(tree, name, is_package):
    """(imported module, line) for every import outside `if TYPE_CHECKING:` blocks, at any depth."""
    found = []

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    visit_one(other)
                continue
            visit_one(child)

    def visit_one(child):
        if isinstance(child, ast.Import):
            found.extend((alias.name, child.lineno) for alias in child.names)
        elif isinstance(child, ast.ImportFrom):
            if child.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (child.level - 1)]
                module = ".".join(base + ([child.module] if child.module else []))
            else:
                module = child.module
            # `from webapp.x import y` imports the submodule webapp.x.y when there is one, else a name of webapp.x
            for alias in child.names:
                submodule = f"{module}.{alias.name}"
                found.append((submodule if submodule in MODULES else module, child.lineno))
        visit(child)

    visit(tree)
    return found




def _graph():
    graph = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        targets = set()
        for module, line in _runtime_imports(tree, name, path.name == "__init__.py"):
            if module in MODULES and module != name:
                targets.add((module, line))
        graph[name] = targets
    return graph


GRAPH = _graph()


def _part(name):
    for prefix in sorted(ALLOWED, key=len, reverse=True):
        if name == prefix or name.startswith(prefix + "."):
            return prefix
    return None


def test_the_layout_is_read_from_the_source():
    assert len(MODULES) > 60
    assert "webapp.services.api_keys.commands" in MODULES
    assert any(GRAPH.values())


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_each_layer_imports_only_the_layers_below_it(part):
    wrong = []
    for name, targets in GRAPH.items():
        if _part(name) != part:
            continue
        for target, line in targets:
            other = _part(target) or target
            if other != part and other not in ALLOWED[part] and target != "webapp":
                wrong.append(f"{name}:{line} imports {target}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("part", sorted(FORBIDDEN_LIBRARIES))
def test_flask_free_layers_stay_free_of_the_web_framework(part):
    wrong = []
    for name, path in MODULES.items():
        if _part(name) != part:
            continue
        tree = ast.parse(path.read_text(), str(path))
        for module, line in _runtime_imports(tree, name, path.name == "__init__.py"):
            if module and module.split(".")[0] in FORBIDDEN_LIBRARIES[part]:
                wrong.append(f"{name}:{line} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles():
    edges = {name: {target for target, _ in targets} for name, targets in GRAPH.items()}
    # A package's __init__ importing its own submodules is how Flask blueprints register their routes; a
    # submodule importing its package back is the cycle we refuse.
    cycles, state = [], {}

    def walk(node, stack):
        state[node] = "open"
        stack.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == "open":
                cycles.append(" -> ".join(stack[stack.index(target):] + [target]))
            elif target not in state:
                walk(target, stack)
        stack.pop()
        state[node] = "done"

    for name in sorted(edges):
        if name not in state:
            walk(name, [])
    assert not cycles, "\n".join(cycles)


def test_no_file_is_longer_than_the_limit():
    long_files = [f"{path.relative_to(ROOT)}: {n} lines" for path in MODULES.values()
                  if (n := len(path.read_text().splitlines())) > MAX_LINES]
    assert not long_files, "\n".join(long_files)


def test_no_view_or_service_writes_out_a_privilege_list():
    """Who may do what is named once (security/privileges.py): elsewhere a literal tuple of privilege names
    would be a second copy of a rule that can drift."""
    names = ("manage_security", "read_security", "manage_api_key", "manage_own_api_key")
    wrong = []
    for name, path in MODULES.items():
        if _part(name) not in ("webapp.services", "webapp.web", "webapp.pages", "webapp.api"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and any(
                    isinstance(item, ast.Constant) and item.value in names for item in node.elts):
                wrong.append(f"{name}:{node.lineno}")
    assert not wrong, "\n".join(wrong)
