"""docs/WEBHOOKS.md lists every event's payload fields exactly as sent: each event is fired on its real cause and
the keys of what is stored (the body signed and sent byte for byte) are compared with the documented table, so the
documentation cannot drift from emit()."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

from sempelmas.extensions import db
from sempelmas.models.accounts import Role
from sempelmas.services.accountability import complaints
from sempelmas.services.accountability.complaints import Filing
from sempelmas.services.letters import issued as letters
from sempelmas.services.letters import issuing
from sempelmas.services.operations import webhooks
from sempelmas.services.people import account_registration, account_verification
from sempelmas.services.requests import lifecycle
from tests.conftest import PASSWORD, Factory
from tests.request_factory import submit
from tests.signing_setup import LURAH_PASS, Desk, configure
from tests.webhooks.conftest import events

DOC = Path(__file__).resolve().parents[2] / "docs" / "WEBHOOKS.md"


def _section(text: str, title: str) -> str:
    return text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def documented() -> tuple[dict[str, list[str]], dict[str, str]]:
    """({event type: its `data` fields in order}, {field: its JSON type}) from the doc's two tables."""
    section = _section(DOC.read_text(encoding="utf-8"), "Events")
    per_type, glossary = {}, {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and re.fullmatch(r"`[a-z]+\.[a-z_]+`", cells[0]):
            per_type[cells[0].strip("`")] = re.findall(r"`([a-z_]+)`", cells[2])
        elif len(cells) == 3 and re.fullmatch(r"`[a-z_]+`", cells[0]):
            glossary[cells[0].strip("`")] = cells[1]
    return per_type, glossary


def _fire_every_event(app, tmp_path, factory) -> None:
    configure(app, tmp_path)
    desk = Desk(Factory())
    request = submit(desk.warga)
    lifecycle.transition(request, "claim", actor=desk.staff)
    lifecycle.transition(request, "forward_to_signing", actor=desk.staff)
    db.session.commit()
    letter = issuing.issue_letter(request, desk.lurah, LURAH_PASS)
    letters.revoke(letter, desk.lurah, "Alamat keliru")
    db.session.commit()
    staff = factory.staff(Role.STAFF, "loket-doc")
    complaint, _ = complaints.file_complaint(
        Filing(name="Budi", phone="+6281234567890", email=None, category="pelayanan", subject="s", body="b"),
        idempotency_key=None)
    complaints.answer(complaint, staff, "Sudah ditindaklanjuti.", "close")
    rt = factory.staff(Role.RT_HEAD, "rt-doc", rt="001", rw="001")
    rina = account_registration.register_resident(account_registration.RegistrationData(
        nik="3576034403920078", kk_number="3576031203150078", full_name="Rina Ayu", birth_place="Mojokerto",
        birth_date=date(1992, 3, 4), gender="P", address="Jl. Empunala 7", rt="1", rw="1", phone="+6281234567891",
        email="rina-doc@example.org", password=PASSWORD, consent=True))
    db.session.commit()
    account_verification.verify_account(rt, rina, "kenal")
    db.session.commit()


def test_the_documented_fields_are_exactly_what_each_event_sends(app, tmp_path, factory, subscribe):
    per_type, glossary = documented()
    assert list(per_type) == list(webhooks.EVENT_TYPES)  # every type documented, no other
    subscribe()
    _fire_every_event(app, tmp_path, factory)
    sent: dict[str, list[dict]] = {}
    for event in events():
        body = json.loads(event.payload)
        assert list(body) == ["type", "timestamp", "data"] and body["type"] == event.type
        sent.setdefault(event.type, []).append(body["data"])
    assert set(sent) == set(webhooks.EVENT_TYPES)  # each fired on its real cause
    for event_type, payloads in sent.items():
        for data in payloads:
            assert list(data) == per_type[event_type], event_type  # the same fields, in the same order
            for name, value in data.items():
                kinds = glossary[name]
                if value is None:
                    assert "null" in kinds, (event_type, name)
                else:
                    assert {int: "integer", str: "string"}[type(value)] in kinds, (event_type, name, value)
    # the glossary names exactly the fields some event sends
    assert set(glossary) == {name for fields in per_type.values() for name in fields}
