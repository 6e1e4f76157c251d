"""Blueprint: admin (``bp``), its routes in the modules that each register on it."""

from sempelmas.web.admin import audit, certificates, opendk, routes, webhooks  # noqa: F401  (their routes register on bp)
from sempelmas.web.admin.blueprint import bp

__all__ = ["bp"]
