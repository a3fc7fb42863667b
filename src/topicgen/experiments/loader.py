"""Find a topic's experiment files and import them; an author's mistake becomes one line.

    content/<topic>/experiments/
        gradient_decay.py           the experiment "gradient-decay" (stem, `_` shown as `-`)
        gradient_decay_figures.py   its figures: FIGURES = {name: draw(result) -> Figure}
        _tensors.py                 a helper, imported relatively: from ._tensors import ...

The folder is imported as a package of its own, one per topic and never on sys.path, so
helpers are imported relatively and two topics may each have a `_tensors.py`. Its modules are
compiled from source, never from a bytecode cache, and imported again once any of them is
edited, so a long-running process (or a test) always runs what is on disk. Experiment files
are code: importing one runs it, like a test file (docs/writing-experiments.md).
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib
import importlib.machinery
import importlib.util
import os
import re
import sys
import threading
import traceback
from contextlib import contextmanager, redirect_stdout, suppress
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from topicgen import sources
from topicgen.errors import ContentError
from topicgen.experiments.params import declaration_problem

CONTENT_PACKAGE = "_topicgen_content"
FIGURES_SUFFIX = "_figures"

IMPORTED: dict[str, tuple[int, int]] = {}
"""Each imported module of a topic package -> (mtime_ns, size) of its file at the time."""


@dataclass(frozen=True)
class Experiment:
    """One experiment file of a topic: enough to find, import and key it in any process."""

    topic: str
    name: str
    path: Path

    @property
    def module(self) -> str:
        return f"{package(self.path.parent, self.topic)}.{self.path.stem}"

    @property
    def figures_path(self) -> Path:
        return self.path.with_name(f"{self.path.stem}{FIGURES_SUFFIX}.py")

    @property
    def figures_module(self) -> str:
        return f"{self.module}{FIGURES_SUFFIX}"


def discover(folder: Path, topic: str) -> dict[str, Experiment]:
    """The experiments in `folder` by name, in file-name order; no file is imported."""
    if not folder.is_dir():
        return {}
    found: dict[str, Experiment] = {}
    for path in sorted(folder.glob("*.py")):
        stem = path.stem
        if stem.startswith("_"):
            continue  # a helper module
        if stem.endswith(FIGURES_SUFFIX):
            owner = path.with_name(stem.removesuffix(FIGURES_SUFFIX) + ".py")
            if not owner.is_file():
                raise ContentError(f"figures of no experiment: {owner.name} does not exist "
                                   f"(delete {path.name} with it; a helper's name starts with "
                                   "_)", path)
            continue
        name = stem.replace("_", "-")
        if not re.fullmatch(r"[A-Za-z][\w-]*", stem):
            raise ContentError(f'"{path.name}" cannot name an experiment: use letters, digits '
                               "and _ , starting with a letter", path)
        if name in found:
            raise ContentError(f'two experiments are named "{name}": {found[name].path.name} '
                               f"and {path.name}; rename one", path)
        found[name] = Experiment(topic, name, path)
    return found


def package(folder: Path, topic: str) -> str:
    """The package a topic's experiments folder is imported as, created on first use."""
    folder = folder.resolve()
    tag = hashlib.sha256(str(folder).encode()).hexdigest()[:8]  # two projects, one topic name
    name = f"{CONTENT_PACKAGE}.{re.sub(r'[^0-9A-Za-z_]', '_', topic)}_{tag}"
    if name not in sys.modules:
        if CONTENT_PACKAGE not in sys.modules:
            sys.modules[CONTENT_PACKAGE] = namespace(CONTENT_PACKAGE, [])
        sys.modules[name] = namespace(name, [str(folder)])
        sys.path_importer_cache[str(folder)] = importlib.machinery.FileFinder(
            str(folder), (SourceOnlyLoader, [".py"]))
        sources.add_root(name, folder, f"{topic}/experiments")
    return name


class SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    """Compiles from source every time: no __pycache__ in the content folder, and no bytecode
    cache (checked by whole seconds and size) can serve an edit made in the same second."""

    def get_code(self, fullname):
        return compile(self.get_data(self.path), self.path, "exec", dont_inherit=True)


def namespace(name: str, path: list[str]) -> ModuleType:
    spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
    spec.submodule_search_locations = path
    return importlib.util.module_from_spec(spec)


def import_module(module: str, path: Path) -> ModuleType:
    """Import `module` (the file `path`); a syntax error or an exception is a ContentError
    naming the file and line where it happened."""
    forget_if_edited(module.rpartition(".")[0])
    try:
        from topicgen.pools import interrupts_held

        # torch's import, which an experiment's starts, swallowed the KeyboardInterrupt that
        # Ctrl+C or SIGTERM raises (see cli.stop) in 1 of 40 and 1 of 5 tries: the build ran
        # on and published, or failed to import torch a second time. Held, they act after it.
        with interrupts_held(), topic_code():
            loaded = importlib.import_module(module)
        remember_imported(module.rpartition(".")[0])
        return loaded
    except SyntaxError as error:
        raise ContentError(f"syntax error: {error.msg}", error.filename or path,
                           error.lineno) from None
    except (Exception, SystemExit) as error:  # sys.exit() in a module would end the command
        where, line = last_frame_in(error, path.parent)
        if undefaulted := DATACLASS_ORDER.search(str(error)):  # named at @dataclass's line
            field = undefaulted.group(1)
            raise ContentError(f'Params field "{field}" has no default, and a field before it '
                               'has one: declare it with param(default, "help")', path,
                               params_line(path, field) or line) from None
        message = str(error).replace(module.rpartition(".")[0] + ".", "")  # the package's name
        raise ContentError(f"{type(error).__name__} while importing {path.name}: {message}",
                           where or path, line) from None


DATACLASS_ORDER = re.compile(r"non-default argument '(\w+)' follows default argument")
"""Python's words for a dataclass field without a default after one with a default."""


def params_line(path: Path, field: str | None = None) -> int | None:
    """The line of `path` that declares `class Params`, or that class's `field`."""
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    start = next((i for i, text in enumerate(lines) if re.match(r"class Params\b", text)), None)
    if start is None:
        return None
    found = (i for i in range(start, len(lines))
             if field and re.match(rf"\s+{re.escape(field)}\s*:", lines[i]))
    return next(found, start) + 1


class ExitCalled(SystemExit):
    """Raised where a topic's code calls os._exit, which would end the process on the spot:
    the command (exit status 0, no word said) or a worker (a broken pool)."""

    def __str__(self) -> str:
        return f"os._exit({self.code!r}) would end the process"


@contextmanager
def topic_code():
    """Around every call into a topic's own code: os._exit there raises ExitCalled (as
    sys.exit raises SystemExit, which the callers report), and what it prints goes to stderr,
    never into the command's output (`--json`, read through a pipe): Python's prints, and
    file descriptor 1 too, for what a child process or a C library writes there. In the main
    thread only, where the command and its workers run it: all three are process-wide, and
    a cluster's threads would restore each other's."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def refuse(code: int) -> None:
        if threading.current_thread() is not threading.main_thread():
            return real_exit(code)  # not topic code: a worker's watch on its gone command
        raise ExitCalled(code)

    real_exit, os._exit = os._exit, refuse
    try:
        with stdout_descriptor_to_stderr(), redirect_stdout(sys.stderr):
            yield
    finally:
        os._exit = real_exit


@contextmanager
def stdout_descriptor_to_stderr():
    """File descriptor 1 pointing where 2 does, then back (as it was where either is
    closed)."""
    sys.stdout.flush()  # what the command printed before belongs on its stdout
    try:
        saved = os.dup(1)
        os.dup2(2, 1)
    except OSError:
        yield
        return
    try:
        yield
    finally:
        with suppress(OSError, AttributeError):  # C's own buffer, which printf fills
            ctypes.CDLL(None).fflush(None)
        os.dup2(saved, 1)
        os.close(saved)


def stamp(path: str) -> tuple[int, int]:
    try:
        stat = os.stat(path)
    except OSError:
        return (-1, -1)
    return stat.st_mtime_ns, stat.st_size


def remember_imported(package_name: str) -> None:
    for name, module in list(sys.modules.items()):
        if name.startswith(package_name + ".") and name not in IMPORTED:
            IMPORTED[name] = stamp(module.__file__)


def forget_if_edited(package_name: str) -> None:
    """Drop every imported module of the package when one of their files changed: a helper
    edit must reach the experiments that imported it, too."""
    names = [name for name in IMPORTED if name.startswith(package_name + ".")]
    if any(stamp(sys.modules[name].__file__) != IMPORTED[name] for name in names
           if name in sys.modules):
        for name in names:
            sys.modules.pop(name, None)
            del IMPORTED[name]
        importlib.invalidate_caches()


def last_frame_in(error: BaseException, folder: Path) -> tuple[str | None, int | None]:
    """The innermost frame of the traceback in a file under `folder`: where to fix it."""
    folder = folder.resolve()
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if Path(frame.filename).resolve().is_relative_to(folder)]
    return (frames[-1].filename, frames[-1].lineno) if frames else (None, None)


def load(experiment: Experiment) -> ModuleType:
    """The experiment's module, checked to provide what a run needs."""
    module = import_module(experiment.module, experiment.path)
    params = getattr(module, "Params", None)
    if not (isinstance(params, type) and hasattr(params, "__dataclass_fields__")):
        raise ContentError("defines no Params: add a frozen dataclass `Params` of its "
                           "parameters (docs/writing-experiments.md)", experiment.path)
    problem, field = declaration_problem(params)
    if problem:
        raise ContentError(problem, experiment.path, params_line(experiment.path, field))
    if not callable(getattr(module, "run", None)):
        raise ContentError("defines no run(params, ctx) -> Result", experiment.path)
    return module


def load_figures(experiment: Experiment) -> dict:
    """The experiment's FIGURES (name -> draw function); empty without a figures file."""
    if not experiment.figures_path.is_file():
        return {}
    module = import_module(experiment.figures_module, experiment.figures_path)
    return getattr(module, "FIGURES", {})


def figure_names(experiment: Experiment) -> list[str]:
    """The figures an experiment draws, read from its figures file without importing it
    (that would import matplotlib, a second that a rebuild with cached figures never needs)."""
    path = experiment.figures_path
    if not path.is_file():
        return []
    try:
        return sources.dict_keys(path, "FIGURES")
    except SyntaxError as error:
        raise ContentError(f"syntax error: {error.msg}", path, error.lineno) from None
    except LookupError:
        raise ContentError("FIGURES must be a literal dict: FIGURES = {\"name\": draw_name}",
                           path) from None
