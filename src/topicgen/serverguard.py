"""Imported first by the workers' server: on Linux, the server dies with the command.

The server imports torch, matplotlib and WeasyPrint (about 3 s) before it starts watching
the pipe that tells it the command has gone, so a command killed with `kill -9` meanwhile
left it importing, and holding the command's stdout, for that long. Here the kernel is asked
to send the server SIGKILL once the thread that started it ends (PR_SET_PDEATHSIG): the
command's main thread, the only one pools.start_server guards a server from, and whose end
is the command's. A command that died before this ran is seen by its pid, which the
server's environment carries (PARENT) and which marks a guarded server: the command imports
this module too, and nothing happens there. A fork clears the setting, so the workers the
server forks keep their own watch.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

PARENT = "TOPICGEN_SERVER_PARENT"
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with(parent: int) -> None:
    if sys.platform != "linux":
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # adopted already: the command is gone
        os._exit(1)


if PARENT in os.environ:
    die_with(int(os.environ.pop(PARENT)))
