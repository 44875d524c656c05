"""SIGTERM ends open runs as KILLED at once, instead of CRASHED when the heartbeat lapses.

While a run is open a handler is installed (from the main thread: Python runs signal
handlers there only). On SIGTERM it ends every open run, newest first, as KILLED, with
its buffered metric points flushed, then hands the signal on: to the handler that was
installed before, if it was a Python function (a server's graceful shutdown, say), else
it exits with status 143 (128 + 15), as a process killed by a default SIGTERM reports.
The exit is ``SystemExit``, so ``finally`` blocks and ``atexit`` hooks still run. When the
last run ends the previous handler is put back. A process that ignored SIGTERM keeps
ignoring it, and a run started from another thread is ended by a handler installed for
a main-thread run, or not at all.
"""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import FrameType

    from loopml.tracking._run import ActiveRun

#: Exit status of a process ended by SIGTERM (128 + the signal number).
EXIT_STATUS = 128 + int(signal.SIGTERM)

_lock = threading.Lock()
_open: dict[int, ActiveRun] = {}  # id(run) -> run, in the order the runs started
_previous: Any = None
_installed = False


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def opened(run: ActiveRun) -> None:
    """Track an open run; install the handler if this is the main thread."""
    global _previous, _installed
    with _lock:
        _open[id(run)] = run
    if _installed or not _on_main_thread():
        return
    current = signal.getsignal(signal.SIGTERM)
    if current is signal.SIG_IGN:
        return
    signal.signal(signal.SIGTERM, _on_sigterm)
    _previous, _installed = current, True


def closed(run: ActiveRun) -> None:
    """Forget an ended run; restore the previous handler once no run is open."""
    global _previous, _installed
    with _lock:
        _open.pop(id(run), None)
        idle = not _open
    if not (idle and _installed and _on_main_thread()):
        return
    if signal.getsignal(signal.SIGTERM) is _on_sigterm:  # nobody installed another since
        signal.signal(signal.SIGTERM, _previous if _previous is not None else signal.SIG_DFL)
    _previous, _installed = None, False


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    previous = _previous
    with _lock:
        runs = list(_open.values())
    for run in reversed(runs):  # children (started later) before their parents
        run.terminate("terminated (SIGTERM)")
    if callable(previous):
        previous(signum, frame)
        return
    raise SystemExit(EXIT_STATUS)
