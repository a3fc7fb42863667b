"""Writing files so that a crash never leaves a half-written one behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from topicgen.errors import TopicgenError, UsageError


def write_atomic(path: Path, data: bytes | str) -> bool:
    """Replace `path` with `data` via a temp file and rename; skip it if the bytes are equal.

    Returns True when the file changed. Unchanged files keep their mtime, so tools that
    watch the output (and rsync-style publishing) see only real changes.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if path.exists() and path.read_bytes() == payload:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; outputs are for sharing
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise TopicgenError(f"cannot write {path}: {error.strerror or error}") from None
    return True


def write_all_atomic(files: dict[Path, bytes | str]) -> int:
    """Replace every file of `files` or none; returns how many changed (equal bytes are
    left alone, as write_atomic leaves them). Each changed file is first written beside its
    target under a temporary name, and only once all are written are they renamed over
    their targets, in order: a write that fails (a full disk, a folder where a file should
    go) leaves every target as it was. Only a kill during the renames, which take a few
    milliseconds, can leave some files new and others old."""
    staged: list[tuple[str, Path]] = []
    path = None
    try:
        for path, data in files.items():
            payload = data.encode("utf-8") if isinstance(data, str) else data
            if path.is_dir():
                raise TopicgenError(f"cannot write {path}: a folder is in its place")
            if path.exists() and path.read_bytes() == payload:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            staged.append((tmp, path))
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; outputs are for sharing
        changed = len(staged)
        while staged:
            tmp, path = staged[0]
            os.replace(tmp, path)
            staged.pop(0)
    except OSError as error:
        raise TopicgenError(f"cannot write {path}: {error.strerror or error}") from None
    finally:
        for tmp, _ in staged:  # what was not renamed: no temporary file is left behind
            Path(tmp).unlink(missing_ok=True)
    return changed


def overlaps_sources(folder: Path, project: Path, inputs: tuple[str, ...] = ("content",)
                     ) -> str:
    """Why topicgen must neither write nor clean in `folder` ("" where it may): in the
    project folder outputs mix with its files; in content/ (or another of the project's
    `inputs`) they become sources (a data file beside the experiments is part of every
    result's key), `--watch` rebuilds on its own writes, and cleaning would cost the project
    its sources."""
    folder, project = folder.resolve(), project.resolve()
    if folder == project:
        return "is the project folder"
    if folder in project.parents:
        return "holds the project folder"
    for name in inputs:
        if folder == project / name:
            return f"is {name}/"
        if project / name in folder.parents:
            return f"lies inside {name}/"
    return ""


OUTPUT_INPUTS = ("content", "templates", ".topicgen")
"""What an output folder must not be in: the sources, the template overrides (a built page
would become one), and the result cache and build lock."""


def check_output_folder(folder: Path, project: Path) -> None:
    """Fail now, not after minutes of computing, where `folder` cannot be made (a file stands
    in its way, or its nearest existing folder is not writable) or must not be written."""
    if reason := overlaps_sources(folder, project, OUTPUT_INPUTS):
        raise UsageError(f"will not write to {folder}: it {reason}; give the output a folder "
                         "of its own")
    existing = next(path for path in (folder, *folder.parents) if path.exists())
    if not existing.is_dir():
        raise TopicgenError(f"cannot write to {folder}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise TopicgenError(f"cannot write to {folder}: {existing} is not writable")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
