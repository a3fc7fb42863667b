"""Is a build up to date? One fingerprint of every input, checked against manifest.json.

A no-op rebuild must cost a fraction of a second, so this module reads files and package
metadata only: it imports neither torch nor matplotlib nor WeasyPrint.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
from pathlib import Path
from typing import Any

from topicgen import sources

log = logging.getLogger(__name__)

# Libraries whose version can change an output byte.
LIBRARIES = ("torch", "matplotlib", "weasyprint", "mathra", "jinja2", "markdown-it-py",
             "mdit-py-plugins", "pygments", "pydyf", "fonttools")
# Config fields that cannot change an output byte.
NOT_INPUTS = ("force", "jobs", "fail_fast", "cache_dir")


def input_files(roots: list[Path]) -> list[Path]:
    files = []
    for root in roots:
        if root.is_file():
            files.append(root)
        elif root.is_dir():
            files.extend(p for p in root.rglob("*") if p.is_file()
                         and "__pycache__" not in p.parts and not p.name.startswith("."))
    return sorted(files)


def fingerprint(config: dict[str, Any], roots: list[Path]) -> str:
    """A hash of the resolved config, the files under `roots`, topicgen's code and versions."""
    digest = hashlib.sha256()
    settings = {k: v for k, v in config.items() if k not in NOT_INPUTS}
    environment = {"python": platform.python_version(),
                   "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH", ""),
                   **{name: sources.version(name) for name in LIBRARIES}}
    digest.update(json.dumps([settings, environment], sort_keys=True).encode())
    for path in input_files([*roots, sources.PACKAGE_DIR]):
        digest.update(f"\0{path}\0".encode())
        try:
            digest.update(path.read_bytes())
        except OSError:  # the build itself reports it, with the file that names it
            digest.update(b"\0unreadable")
    return digest.hexdigest()[:32]


def file_digest(data: bytes | str) -> str:
    payload = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(payload).hexdigest()


def previous_manifest(out_dir: Path, name: str = "manifest.json") -> dict[str, Any]:
    """The record a target's last build left in `out_dir` (see build.publish), or {}."""
    try:
        manifest = json.loads((out_dir / name).read_text("utf-8"))
        return manifest if isinstance(manifest, dict) else {}
    except (OSError, ValueError):
        return {}


def up_to_date(out_dir: Path, inputs: str, name: str = "manifest.json") -> bool:
    """True when the last build had these inputs and every file it wrote is unchanged."""
    manifest = previous_manifest(out_dir, name)
    if manifest.get("inputs") != inputs or not isinstance(manifest.get("outputs"), dict):
        return False
    for relative, expected in manifest["outputs"].items():
        try:
            if file_digest((out_dir / relative).read_bytes()) != expected:
                log.debug("%s was changed or removed since the last build", relative)
                return False
        except OSError:
            log.debug("%s is missing", relative)
            return False
    return True
