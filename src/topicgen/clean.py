"""`topicgen clean`: delete built outputs and, if asked, the files of the result cache.

A folder named by a setting is never trusted blindly: a mistaken `cache_dir = "."` must not
cost the project its sources, and a cache folder shared with other files keeps them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from topicgen.config import Config
from topicgen.errors import TopicgenError, UsageError
from topicgen.files import overlaps_sources


def clean(config: Config, cache: bool) -> Iterator[str]:
    """Delete everything in output/ (but .gitkeep) and, with `cache`, the cache's own files;
    one line per thing removed. Checks every folder before deleting anything."""
    output = config.project / "output"
    check_cleanable(config, output, "output", "output/")
    # topicgen.toml's `out` puts a topic's handout elsewhere: what builds wrote there goes too.
    elsewhere = config.out if config.out is not None and not config.out.resolve(
    ).is_relative_to(output.resolve()) else None
    if elsewhere is not None:
        check_cleanable(config, elsewhere, "output", "out in topicgen.toml")
    if cache:
        check_cleanable(config, config.cache_path, "cache", cache_setting(config))
    targets = [p for p in output.iterdir() if p.name != ".gitkeep"] if output.is_dir() else []
    for target in targets:
        remove(target)
        yield f"Removed {target}"
    removed = bool(targets)
    if elsewhere is not None and (written := built_files(elsewhere)):
        for path in written:
            remove(path)
        remove_emptied_folders(written, elsewhere)
        removed = True
        yield f"Removed the {len(written)} files builds wrote in {elsewhere}"
    if cache and config.cache_path.is_dir():
        yield clean_cache(config.cache_path)
    elif not removed:
        yield f"Nothing to clean in {output}"


def built_files(folder: Path) -> list[Path]:
    """The files the builds recorded in `folder`'s manifests, and the manifests: only what
    topicgen wrote there (a folder named by a setting may hold other files)."""
    from topicgen.freshness import previous_manifest

    root, found = folder.resolve(), []
    for manifest in sorted(folder.glob("manifest*.json")):
        outputs = previous_manifest(folder, manifest.name).get("outputs")
        found += [path for relative in (outputs if isinstance(outputs, dict) else {})
                  if (path := (folder / relative).resolve()).is_relative_to(root)
                  and path.is_file()]
        found.append(manifest)
    return found


def remove_emptied_folders(removed: list[Path], folder: Path) -> None:
    """The folders from each removed file up to `folder` that its removal left empty (never
    one it did not empty: `folder` may be shared)."""
    root = folder.resolve()
    for path in removed:
        for parent in path.parents:
            if not parent.is_relative_to(root):
                break
            with contextlib.suppress(OSError):  # not empty: nor are those above it
                parent.rmdir()


def check_cleanable(config: Config, folder: Path, what: str, setting: str) -> None:
    """Refuse to clean a folder that holds the project or lies in its content/, where a
    mistaken setting (cache_dir = ".") would cost the project its sources."""
    if reason := overlaps_sources(folder, config.project):
        raise UsageError(f"will not clean the {what} folder {folder.resolve()} ({setting}): "
                         f"it {reason}; give the {what} a folder of its own")


def cache_setting(config: Config) -> str:
    """Where the cache folder was set, for an error about it."""
    if config.cache_dir is not None:
        return "--cache-dir or cache_dir in topicgen.toml"
    return "$TOPICGEN_CACHE_DIR" if os.environ.get("TOPICGEN_CACHE_DIR") else "the default"


def clean_cache(folder: Path) -> str:
    """Delete the files the result cache wrote in `folder`, then its folders left empty; the
    line that says what went."""
    from topicgen.results.cache import FOLDERS, cache_files

    files = cache_files(folder)
    for path in files:
        remove(path)
    for empty in [folder / name for name in FOLDERS] + [folder]:
        with contextlib.suppress(OSError):  # not empty (or not a folder): it stays
            empty.rmdir()
    removed = f"{len(files)} cached file" + ("" if len(files) == 1 else "s")
    if not folder.exists():
        return f"Removed {folder} ({removed})"
    kept = len(list(folder.iterdir()))
    return f"Removed {removed} from {folder}" + (
        f"; kept the {kept} other {'entry' if kept == 1 else 'entries'} there" if kept else "")


def remove(path: Path) -> None:
    """Delete a file or a folder; a link is removed, never followed."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except OSError as error:
        raise TopicgenError(f"cannot remove {path}: {error.strerror or error}") from None
