"""An admin of a new production install lands on the "Siap melayani" checklist after login (issue 17: "the admin's
first screen in a new production install is a Siap melayani checklist"), until it was once found all done; in
development (the demo) and for other roles the landing pages stay as they were. Found by the production journey
(tests/golive): the admin used to land on /admin/ with a card pointing at the checklist."""

from __future__ import annotations

from sempelmas.models.accounts import Role
from sempelmas.services.kelurahan import readiness
from tests.conftest import PASSWORD


def _landing(app, username: str) -> str:
    client = app.test_client()
    resp = client.post("/login", data={"identifier": username, "password": PASSWORD})
    assert resp.status_code == 302
    return resp.headers["Location"]


def test_production_admin_lands_on_the_checklist_until_it_is_done(app, factory, monkeypatch):
    factory.staff(Role.ADMIN, "adm")
    factory.staff(Role.STAFF, "ptg")
    assert _landing(app, "adm") == "/admin/"  # development: the demo's admin home
    app.config["ENV"] = "production"
    assert _landing(app, "adm") == "/admin/siap"
    assert _landing(app, "ptg") == "/petugas/"  # only admins set the install up
    done = readiness.Step("x", "x", True, "", "admin.home")
    monkeypatch.setattr(readiness, "all_steps", lambda probe=True: [done])
    assert _landing(app, "adm") == "/admin/"
