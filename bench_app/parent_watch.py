"""Stop a helper process when the process that started it is gone.

The harness starts the job worker and the upstream stub in sessions of their own, so a
Ctrl-C reaches only the harness, which then stops them in order. If the harness itself
is killed (SIGKILL: nothing runs its clean-up), they would run on as orphans; this
notices that their parent has changed and stops them as a SIGTERM would.
"""

import os
import signal
import threading
import time

POLL_S = 1.0


def exit_with_parent(poll_s: float = POLL_S) -> None:
    """Watch, in a daemon thread, for this process's parent to change; then SIGTERM ourselves."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
