"""The signer blueprint itself; its routes are in ``routes`` (the signing key) and ``signing`` (the signing
desk): the package imports both, so they register on it."""

from flask import Blueprint

bp = Blueprint("signer", __name__)
