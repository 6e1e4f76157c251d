"""A cheaper in-process store for Flask-Limiter: ``lazymemory://``.

The ``limits`` library's ``memory://`` store starts a ``threading.Timer`` thread on nearly every hit
(it re-arms a 10 ms timer to sweep expired counters whenever the previous one has run), which under
load costs more than the rest of a small page (bench/bench_verify.py, profiled). Expired counters are
already ignored on read, so the sweep only frees memory: here it runs in the calling thread, at most
once every ``SWEEP_SECONDS``. Same counting, same semantics, per process like ``memory://``.
"""

from __future__ import annotations

import time

from limits.storage import MemoryStorage


class LazyMemoryStorage(MemoryStorage):
    STORAGE_SCHEME = ["lazymemory"]
    SWEEP_SECONDS = 5.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._next_sweep = time.monotonic() + self.SWEEP_SECONDS

    def _MemoryStorage__schedule_expiry(self) -> None:  # replaces the parent's timer thread
        if not hasattr(self, "_MemoryStorage__expire_events"):  # another limits release: reads ignore expired
            return
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_SECONDS
            self._MemoryStorage__expire_events()
