"""A stream's clock and polls shared with a writer thread, so a test of a source being written
while it is read does not race them (the load of the machine cannot change the outcome).

:class:`Steps` replaces :class:`~cnmf_gui.io.frame_stream.FrameStream`'s ``clock`` and
``sleep``: the idle clock stands still until the writer says it is done (so ``until_idle``
cannot end the stream while the writer is only slow), then moves by one poll per poll (so the
stream ends after exactly ``until_idle / poll`` empty polls, however slow they are). The writer
can wait for the reader to have looked at the source twice (:meth:`wait_for_reader`): a
half-written file is then certainly seen by the reader before it is completed.

Nothing here can hang a test. A stepped clock stands still until the writer is done, so a
writer that never says so (it raised: a full disk, a bug) would leave the reader polling
forever: :meth:`Steps.run_writer` says done whatever happens and keeps the exception for
:meth:`Steps.check`. And past a real-time ``deadline`` the clock jumps beyond any idle timeout
(the stream ends at its next poll) and the writer stops waiting; :meth:`Steps.check` then fails
the test with what each side had done.
"""

from __future__ import annotations

import threading
import time

#: Real seconds a stepped test may take before it is ended and failed. The reader may be busy for
#: minutes between two polls (an online run initialising under load 30 took over one), so this is
#: far above a normal run (seconds) and only there so that a broken run fails instead of hanging.
DEADLINE = 900.0


class Steps:
    def __init__(self, deadline: float = DEADLINE):
        self.polls = 0
        self.now = 0.0
        self.writer_done = False
        self.missed = 0           # waits of the writer that ended without the reader's polls
        self.gone = False
        self.timed_out = False
        self.writer_error: BaseException | None = None
        self.written = 0          # what the writer reports having done (for the failure message)
        self.deadline = float(deadline)
        self._end = time.monotonic() + self.deadline
        self._cond = threading.Condition()

    def clock(self) -> float:
        with self._cond:
            return self.now

    def sleep(self, seconds: float) -> None:
        time.sleep(0.0002)        # let the writer thread have the interpreter
        with self._cond:
            self.polls += 1
            if time.monotonic() > self._end:
                # past the deadline: the stream's idle timeout ends it at this poll
                self.timed_out = True
                self.now = float("inf")
            elif self.writer_done:
                self.now += seconds
            self._cond.notify_all()

    def wait_for_reader(self) -> None:
        """Return once the reader has polled twice since the call: between the end of the first
        of those polls and the second one it looked at the source as it is now (or at once when
        the reader has returned, or the deadline has passed)."""
        with self._cond:
            target = self.polls + 2
            self._cond.wait_for(lambda: self.polls >= target or self.gone or self.timed_out,
                                timeout=max(self._end - time.monotonic(), 0.0))
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

    def run_writer(self, write, *args) -> threading.Thread:
        """Start ``write(*args)`` in a thread that says :meth:`done` however it ends."""
        def body():
            try:
                write(*args)
            except BaseException as exc:  # noqa: BLE001 - kept for check(), in the test's thread
                self.writer_error = exc
            finally:
                self.done()

        th = threading.Thread(target=body, daemon=True)
        th.start()
        return th

    def finish(self, thread: threading.Thread) -> None:
        """The reader has returned: release and join the writer (bounded), then :meth:`check`."""
        self.reader_gone()
        thread.join(timeout=max(self._end - time.monotonic(), 0.0) + 30.0)
        assert not thread.is_alive(), f"the writer thread did not end ({self.written} written, {self.polls} polls)"
        self.check()

    def check(self) -> None:
        """Fail with one clear message when the writer raised or the deadline ended the run."""
        if self.writer_error is not None:
            raise AssertionError(f"the writer thread failed after {self.written} writes: "
                                 f"{type(self.writer_error).__name__}: {self.writer_error}")
        assert not self.timed_out, (f"stepped stream test ran past its {self.deadline:g} s deadline: the writer had "
                                    f"written {self.written}, the reader had polled {self.polls} times")


def write_in_halves(path, blob: bytes, steps: Steps) -> None:
    """Write a file's first half, let the reader see it, then write the rest."""
    with open(path, "wb") as fh:
        fh.write(blob[:len(blob) // 2])
        fh.flush()
        steps.wait_for_reader()
        fh.write(blob[len(blob) // 2:])
    steps.written += 1
