"""A finding of ``flask doctor`` (services/operations/doctor.py) and what its checks share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from flask import current_app

OK, WARN, FAULT = "OK", "WARN", "FAULT"
LEVELS = (OK, WARN, FAULT)


@dataclass(frozen=True)
class Finding:
    check: str  #: the check's name, e.g. "database"
    level: str  #: OK, WARN or FAULT
    message: str  #: what is so, in Indonesian
    fix: str = ""  #: the command or setting that repairs it (empty when there is nothing to do)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Context:
    """What the checks share: the clock (tests move it), and whether the database answered."""
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    database_ok: bool = True

    @property
    def production(self) -> bool:
        return current_app.config.get("ENV") == "production"
