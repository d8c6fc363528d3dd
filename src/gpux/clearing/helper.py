"""Work beside the solver in a forked process, on the core the solver leaves idle.

The solver's start on a large book (greedy, subgradient steps, the guided greedy) is
single-threaded Python, and so is the relaxation bound's set-up over every placement; the
ejection moves are Python too, beside windows whose LP is built in Python. No thread can
run them side by side (the GIL), a forked process can. The child shares the parent's
memory as it was at the fork (copy-on-write: nothing is pickled but the messages), reads
messages from the parent and answers through a pipe (`Inbox.reply` any number of times
while it runs, then its value), like a CP-SAT worker: no files, no network. The child has
only the forking thread (in the service, the clearing's worker thread) and leaves with
`os._exit`, so it never runs the parent's other threads' cleanup (event loop, sockets) nor
flushes their buffers. Where `os.fork` is missing, or the fork fails, `Helper.start`
returns None and the caller does the work itself.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import struct
import time
from collections.abc import Callable

from highspy._core import _Highs

_LENGTH = struct.Struct("!Q")


class Inbox:
    """The child's side: messages from the parent, in the order sent, and replies to it."""

    def __init__(self, fd: int, reply_fd: int = -1) -> None:
        self._fd = fd
        self._reply_fd = reply_fd

    def receive(self) -> object:
        """The next message (blocks until it comes; None once the parent is gone)."""
        return _read(self._fd, None)

    def reply(self, message: object) -> None:
        """Pass `message` to the parent (read there by `Helper.receive`)."""
        _write(self._reply_fd, message)


class Helper:
    """One forked process computing `work(inbox)`; its value is read back with `result`."""

    def __init__(self, pid: int, to_child: int, from_child: int) -> None:
        self._pid = pid
        self._to_child = to_child
        self._from_child = from_child
        self._done = False

    @classmethod
    def start(cls, work: Callable[[Inbox], object]) -> Helper | None:
        """Fork a process running `work`; None where this platform cannot fork."""
        if not hasattr(os, "fork"):
            return None
        down_read, down_write = os.pipe()
        up_read, up_write = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            for fd in (down_read, down_write, up_read, up_write):
                os.close(fd)
            return None
        if pid == 0:  # the child: compute, answer, and leave without running any cleanup
            code = 1
            try:
                # HiGHS's worker threads, if the parent had started them, did not survive
                # the fork: a MIP waiting for them would spin for ever (seen in a test)
                _Highs.resetGlobalScheduler(False)
                os.close(down_write)
                os.close(up_read)
                _write(up_write, work(Inbox(down_read, up_write)))
                code = 0
            finally:
                os._exit(code)
        os.close(down_read)
        os.close(up_write)
        return cls(pid, down_write, up_read)

    def send(self, message: object) -> None:
        """Pass `message` to the child (ignored once it has gone)."""
        with contextlib.suppress(OSError):
            _write(self._to_child, message)

    def receive(self, deadline: float) -> object:
        """The child's next reply, waiting at most until `deadline`; None if none comes by
        then, or the child has gone (a reply may then be half read: `close` the helper)."""
        return _read(self._from_child, deadline)

    def result(self, deadline: float) -> object:
        """The child's value, waiting at most until `deadline` (a `time.monotonic()`
        instant); None if it has none by then (it is then stopped)."""
        try:
            return _read(self._from_child, deadline)
        finally:
            self.close()

    def close(self) -> None:
        """Stop the child if it still runs, and release it."""
        if self._done:
            return
        self._done = True
        for fd in (self._to_child, self._from_child):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            os.kill(self._pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self._pid, 0)


def _write(fd: int, message: object) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_LENGTH.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _read(fd: int, deadline: float | None) -> object:
    """One message from `fd`; None at end of file or, with a deadline, when it passes."""
    head = _read_exactly(fd, _LENGTH.size, deadline)
    if head is None:
        return None
    body = _read_exactly(fd, _LENGTH.unpack(head)[0], deadline)
    return None if body is None else pickle.loads(body)


def _read_exactly(fd: int, size: int, deadline: float | None) -> bytes | None:
    parts: list[bytes] = []
    while size:
        # past the deadline, what has already come is still read
        wait = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        if wait is not None and not select.select([fd], [], [], wait)[0]:
            return None
        try:
            part = os.read(fd, min(size, 1 << 20))
        except OSError:
            return None
        if not part:
            return None
        parts.append(part)
        size -= len(part)
    return b"".join(parts)
