"""Content hashes of source files and what they import, read without importing anything heavy.

A cached result or figure is valid while the code that produced it is unchanged: its file and
every module it imports, directly or through others, that belongs to topicgen or to the
topic's own experiments folder. The imports are read from the syntax tree, so hashing never
imports torch or matplotlib.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from functools import cache
from importlib import metadata
from pathlib import Path

from topicgen.errors import ContentError

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGE = "topicgen"

# Packages whose modules are followed: name -> (folder, label of its files in a key).
# A topic's experiments folder joins when it is first loaded (see experiments.loader).
ROOTS: dict[str, tuple[Path, str]] = {PACKAGE: (PACKAGE_DIR, PACKAGE)}


def add_root(package: str, folder: Path, label: str) -> None:
    """Follow imports into `package`, whose modules are the files in `folder`."""
    ROOTS[package] = (folder.resolve(), label)


def module_file(module: str) -> Path | None:
    """The file of a followed module (`topicgen.a.b` -> a/b.py or a/b/__init__.py)."""
    for package, (folder, _) in ROOTS.items():
        if module == package or module.startswith(package + "."):
            base = folder.joinpath(*module.split(".")[package.count(".") + 1:])
            candidates = [base / "__init__.py"]
            if module != package:
                candidates.insert(0, base.with_suffix(".py"))
            return next((path for path in candidates if path.is_file()), None)
    return None


def imported_modules(module: str) -> frozenset[str]:
    """The followed modules `module` imports, with the packages Python runs on the way."""
    path = module_file(module)
    if path is None:
        return frozenset()
    stat = path.stat()
    return _imported_modules(module, path, stat.st_mtime_ns, stat.st_size)


@cache
def _imported_modules(module: str, path: Path, mtime_ns: int, size: int) -> frozenset[str]:
    """Memoised by modification time and size, like _sha256_file: the closures of a build's
    experiment and figure modules share most of their imports, and an edit is seen."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    try:
        statements = import_statements(read_source(path))
    except SyntaxError as error:  # as importing it would say, before any import does
        raise ContentError(f"syntax error: {error.msg}", path, error.lineno) from None
    for node in statements:
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


def read_source(path: Path) -> str:
    """A Python file's text; a file that is not UTF-8 is the topic's error, named by line."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise ContentError(f"not UTF-8 text (byte {error.start}); save it as UTF-8", path,
                           line) from None


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


def module_closure(module: str) -> tuple[Path, ...]:
    """`module`'s file and the files of every followed module it reaches, sorted."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(imported_modules(name) - seen)
    return tuple(sorted(p for p in map(module_file, seen) if p is not None))


def dict_keys(path: Path, variable: str) -> list[str]:
    """The string keys of the literal dict a file assigns to `variable`, without importing."""
    for node in ast.parse(path.read_bytes(), filename=str(path)).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict) and any(
                isinstance(t, ast.Name) and t.id == variable for t in node.targets):
            return [key.value for key in node.value.keys if isinstance(key, ast.Constant)]
    raise LookupError(f"{path} assigns no literal dict to {variable}")


def definitions(path: Path) -> dict[str, tuple[int, str]]:
    """Public top-level functions and classes of a file: name -> (first line, source),
    decorators included, read without importing it."""
    stat = path.stat()
    return _definitions(path, stat.st_mtime_ns, stat.st_size)


@cache
def _definitions(path: Path, mtime_ns: int, size: int) -> dict[str, tuple[int, str]]:
    """Memoised like _sha256_file: a handout lists several functions of one module."""
    text = read_source(path)
    lines = text.splitlines(keepends=True)
    found = {}
    for node in ast.parse(text, filename=str(path)).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                and not node.name.startswith("_"):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            found[node.name] = (first, "".join(lines[first - 1:node.end_lineno]))
    return found


def file_hashes(*modules: str) -> dict[str, str]:
    """Labelled path (`topicgen/api.py`, `topic4/experiments/x.py`) -> short sha256, for each
    file in the closures of `modules`."""
    return {label(path): sha256_file(path)[:16]
            for module in modules for path in module_closure(module)}


def data_hashes(folder: Path) -> dict[str, str]:
    """Labelled path -> short sha256 of each file in `folder` (and below) that is not Python:
    the data files an experiment may read from beside itself."""
    return {label(path): sha256_file(path)[:16] for path in sorted(folder.rglob("*"))
            if path.is_file() and path.suffix not in (".py", ".pyc")
            and not any(part.startswith((".", "__")) for part in path.relative_to(folder).parts)}


def label(path: Path) -> str:
    """A file's name in a key: its root's label and its path below that root."""
    for folder, name in ROOTS.values():
        if path.is_relative_to(folder):
            return f"{name}/{path.relative_to(folder).as_posix()}"
    return path.as_posix()


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
