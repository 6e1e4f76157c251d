"""Fixtures for /api/v1: clients with keys, made through the service as an admin would."""

from __future__ import annotations

import itertools

import pytest

from sempelmas.extensions import db
from sempelmas.services.integration import clients

_serial = itertools.count(1)


@pytest.fixture
def api_client_factory(app):
    """``api_client_factory(scopes=[...], allowed_sources=[...], rate_limit=None, name=None) -> (ApiClient, key)``:
    a committed client and its key, for ``headers={"Authorization": f"Bearer {key}"}``."""

    def make(scopes=(), *, allowed_sources=(), rate_limit=None, name=None):
        client, key = clients.create_client(clients.Settings(
            name=name or f"Sistem Uji {next(_serial)}", scopes=list(scopes), allowed_sources=list(allowed_sources),
            rate_limit=rate_limit), actor=None)
        db.session.commit()
        return client, key

    return make


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}
