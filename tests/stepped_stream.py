"""A stream's clock and polls shared with a writer thread, so a test of a source being written
while it is read does not race them (the load of the machine cannot change the outcome).

:class:`Steps` replaces :class:`~cnmf_gui.io.frame_stream.FrameStream`'s ``clock`` and
``sleep``: the idle clock stands still until the writer says it is done (so ``until_idle``
cannot end the stream while the writer is only slow), then moves by one poll per poll (so the
stream ends after exactly ``until_idle / poll`` empty polls, however slow they are). The writer
can wait for the reader to have looked at the source twice (:meth:`wait_for_reader`): a
half-written file is then certainly seen by the reader before it is completed.
"""

from __future__ import annotations

import threading
import time

#: Longest wait of the writer for the reader, s: a safety against a hung test only. The reader
#: may be busy for minutes between two polls (an online run initialising on a loaded machine);
#: when it has ended, :meth:`Steps.reader_gone` releases the writer at once.
GIVE_UP = 1800.0


class Steps:
    def __init__(self):
        self.polls = 0
        self.now = 0.0
        self.writer_done = False
        self.missed = 0           # waits of the writer that ended without the reader's polls
        self.gone = False
        self._cond = threading.Condition()

    def clock(self) -> float:
        with self._cond:
            return self.now

    def sleep(self, seconds: float) -> None:
        time.sleep(0.0002)        # let the writer thread have the interpreter
        with self._cond:
            self.polls += 1
            if self.writer_done:
                self.now += seconds
            self._cond.notify_all()

    def wait_for_reader(self) -> None:
        """Return once the reader has polled twice since the call: between the end of the first
        of those polls and the second one it looked at the source as it is now."""
        with self._cond:
            target = self.polls + 2
            self._cond.wait_for(lambda: self.polls >= target or self.gone, timeout=GIVE_UP)
            if self.polls < target:
                self.missed += 1

    def reader_gone(self) -> None:
        """The reader has returned: the writer need not wait for it any more."""
        with self._cond:
            self.gone = True
            self._cond.notify_all()

    def done(self) -> None:
        with self._cond:
            self.writer_done = True
            self._cond.notify_all()


def write_in_halves(path, blob: bytes, steps: Steps) -> None:
    """Write a file's first half, let the reader see it, then write the rest."""
    with open(path, "wb") as fh:
        fh.write(blob[:len(blob) // 2])
        fh.flush()
        steps.wait_for_reader()
        fh.write(blob[len(blob) // 2:])
