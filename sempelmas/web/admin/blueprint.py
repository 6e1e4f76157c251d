"""The admin blueprint itself; its routes are in ``routes``, ``audit`` and ``certificates`` (the package imports
all three, so they register on it)."""

from flask import Blueprint

bp = Blueprint("admin", __name__)
