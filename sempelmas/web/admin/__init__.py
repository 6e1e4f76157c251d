"""Blueprint: admin (``bp``), its routes in the modules that each register on it."""

# their routes register on bp
from sempelmas.web.admin import (  # noqa: F401
    api_clients,
    audit,
    certificates,
    officials,
    opendk,
    readiness,
    routes,
    test_letter,
    webhooks,
)
from sempelmas.web.admin.blueprint import bp

__all__ = ["bp"]
