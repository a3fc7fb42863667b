"""Content hashes of topicgen's own source files, read without importing anything heavy.

A cached result or figure is valid while the code that produced it is unchanged: the module
itself and every topicgen module it imports, directly or through others. The imports are
read from the syntax tree, so hashing never imports torch or matplotlib.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from functools import cache
from importlib import metadata
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGE = "topicgen"


def module_file(module: str) -> Path | None:
    """The file of a topicgen module (`topicgen.a.b` -> a/b.py or a/b/__init__.py)."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@cache
def imported_modules(module: str) -> frozenset[str]:
    """The topicgen modules `module` imports, with the packages Python runs on the way.
    Cached: the closures of a build's twenty experiment and figure modules share most of
    their imports."""
    path = module_file(module)
    if path is None:
        return frozenset()
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in import_statements(path.read_text("utf-8")):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = absolute_module(module, node.module, node.level, is_package)
            found.add(base)
            # `from pkg import name` may import the submodule pkg.name
            found.update(f"{base}.{alias.name}" for alias in node.names)
    with_parents = {".".join(name.split(".")[:i]) for name in found
                    for i in range(1, name.count(".") + 2)}
    return frozenset(name for name in with_parents if module_file(name) is not None)


IMPORT_LINE = re.compile(r"^[ \t]*(?:from[ \t]+[\w.]+[ \t]+import[ \t]*\([^)]*\)"
                         r"|(?:from[ \t]+[\w.]+[ \t]+)?import[ \t][^\n]*)", re.M)


def import_statements(source: str) -> list[ast.stmt]:
    """The import statements in `source`. Each line that looks like one is parsed alone, which
    is seven times faster than parsing the module; a line in a string that reads like an import
    only adds a file to a closure. If any such line does not parse alone (a backslash
    continuation, prose), the whole module is parsed instead."""
    try:
        return [statement for match in IMPORT_LINE.finditer(source)
                for statement in ast.parse(match.group(0).strip()).body]
    except SyntaxError:
        return [node for node in ast.walk(ast.parse(source))
                if isinstance(node, (ast.Import, ast.ImportFrom))]


def absolute_module(current: str, name: str | None, level: int, is_package: bool) -> str:
    if level == 0:
        return name or ""
    parts = current.split(".")
    anchor = parts if is_package else parts[:-1]
    anchor = anchor[: len(anchor) - (level - 1)]
    return ".".join(anchor + ([name] if name else []))


@cache
def module_closure(module: str) -> tuple[Path, ...]:
    """`module`'s file and the files of every topicgen module it reaches, sorted."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(imported_modules(name) - seen)
    return tuple(sorted(p for p in map(module_file, seen) if p is not None))


def dict_keys(module: str, variable: str) -> list[str]:
    """The string keys of the literal dict a module assigns to `variable`, without importing."""
    path = module_file(module)
    for node in ast.parse(path.read_bytes(), filename=str(path)).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict) and any(
                isinstance(t, ast.Name) and t.id == variable for t in node.targets):
            return [key.value for key in node.value.keys if isinstance(key, ast.Constant)]
    raise LookupError(f"{path} assigns no literal dict to {variable}")


def definitions(module: str) -> dict[str, tuple[int, str]]:
    """Public top-level functions and classes of a module: name -> (first line, source),
    decorators included, read without importing the module."""
    path = module_file(module)
    stat = path.stat()
    return _definitions(path, stat.st_mtime_ns, stat.st_size)


@cache
def _definitions(path: Path, mtime_ns: int, size: int) -> dict[str, tuple[int, str]]:
    """Memoised like _sha256_file: a handout lists several functions of one module."""
    text = path.read_text("utf-8")
    lines = text.splitlines(keepends=True)
    found = {}
    for node in ast.parse(text, filename=str(path)).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and not node.name.startswith("_"):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            found[node.name] = (first, "".join(lines[first - 1:node.end_lineno]))
    return found


def file_hashes(module: str) -> dict[str, str]:
    """Relative path -> short sha256 for each file in `module`'s closure."""
    return {str(path.relative_to(PACKAGE_DIR)): sha256_file(path)[:16]
            for path in module_closure(module)}


def sha256_file(path: Path) -> str:
    stat = path.stat()
    return _sha256_file(path, stat.st_mtime_ns, stat.st_size)


@cache
def _sha256_file(path: Path, mtime_ns: int, size: int) -> str:
    """Memoised by modification time and size: a build hashes each module once per figure and
    run that depends on it, and an edited file gets a new entry."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def digest(parts: object) -> str:
    """A short stable hash of JSON-able `parts`."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


@cache
def version(distribution: str) -> str:
    """An installed distribution's version, without importing it (torch takes 2 s). Cached:
    each lookup parses the distribution's metadata, and a build asks for some sixty."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"
