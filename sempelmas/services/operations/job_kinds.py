"""The kinds of background job, gathered: importing this module imports every module that defines one, and each
registers itself into the job runner (``jobs.handler`` / ``jobs.on_abandoned``).

The runner (``sempelmas.services.operations.jobs``) knows no kind by name: the modules that define kinds sit above
it (they enqueue and report through it), so it must not import them back. The worker command imports this
module before it runs the queue; a new kind of job is added here.
"""

from __future__ import annotations

from sempelmas.services.letters import batch_signing
from sempelmas.services.people import register_jobs

#: the modules defining job kinds (imported above for their registration)
MODULES = (batch_signing, register_jobs)


def load() -> None:
    """Make sure every kind is registered (importing this module did it; the call says so where it matters)."""
