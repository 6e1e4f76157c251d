"""Blueprint: signer (``bp``), its routes in two modules that each register on it."""

from sempelmas.web.signer import routes, signing  # noqa: F401  (their routes register on bp)
from sempelmas.web.signer.blueprint import bp

__all__ = ["bp"]
