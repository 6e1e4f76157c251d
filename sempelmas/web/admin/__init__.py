"""Blueprint: admin (``bp``), its routes in three modules that each register on it."""

from sempelmas.web.admin import api_clients, audit, certificates, routes  # noqa: F401  (their routes register on bp)
from sempelmas.web.admin.blueprint import bp

__all__ = ["bp"]
