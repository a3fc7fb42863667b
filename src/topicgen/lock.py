"""One build at a time per project: a second build waits instead of interleaving files.

The lock is an OS file lock (flock), so a build killed with `kill -9` releases it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)


@contextlib.contextmanager
def build_lock(folder: Path) -> Iterator[None]:
    """Hold `folder/build.lock` for the duration; wait (and say so) while another build has it."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; builds there are not serialised
        yield
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / "build.lock", "a+")  # noqa: SIM115 - held across the yield
    except OSError as error:
        log.warning("warning: cannot create a build lock in %s (%s); not guarding against "
                    "a second build running at the same time", folder, error.strerror)
        yield
        return
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            log.warning("waiting for the build running in this project (pid %s) to finish...",
                        owner)
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
