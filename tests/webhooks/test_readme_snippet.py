"""The receiver in docs/WEBHOOKS.md and in the README's Integrasi section, each run as written (its secret filled in)
on 127.0.0.1: it accepts what the notify worker sends, drops a redelivery by its webhook-id, and refuses a body
signed with another secret."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from sempelmas.extensions import db
from sempelmas.models.webhooks import WebhookAttempt, WebhookDelivery
from sempelmas.services.operations import delivery, webhooks

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "WEBHOOKS.md"
README = ROOT / "README.md"


def _snippet(doc: Path) -> str:
    text = doc.read_text(encoding="utf-8")
    if doc == README:
        text = text.split("## Integrasi", 1)[1].split("### Webhooks", 1)[1]
    return re.search(r"```python\n(.*?)```", text, re.S).group(1)


@pytest.mark.parametrize("doc", [DOC, README], ids=["WEBHOOKS.md", "README.md"])
def test_the_documented_receiver_verifies_and_deduplicates(app, admin, capsys, doc):
    code = _snippet(doc)
    assert "Webhook(SECRET).verify(" in code
    route = re.search(r'@app\.post\("([^"]+)"\)', code).group(1)
    namespace: dict = {"__name__": "receiver_doc"}
    exec(compile(code, str(doc), "exec"), namespace)  # noqa: S102 - our own documentation
    server = make_server("127.0.0.1", 0, namespace["app"], threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint, secret = webhooks.create_endpoint(f"http://127.0.0.1:{server.server_port}{route}",
                                                    ["letter.signed"], admin)
        db.session.commit()
        namespace["SECRET"] = secret
        webhooks.emit("letter.signed", {"letter_id": 7, "number": "470/012/417.604.3/2026"})
        db.session.commit()
        assert delivery.deliver_due()["sent"] == 1
        assert "letter.signed" in capsys.readouterr().out
        webhooks.redeliver(db.session.scalars(select(WebhookDelivery)).one(), admin)
        db.session.commit()
        assert delivery.deliver_due()["sent"] == 1
        assert "letter.signed" not in capsys.readouterr().out  # dropped by its webhook-id

        namespace["SECRET"] = webhooks.new_secret()  # the receiver holds another secret: refused
        webhooks.emit("letter.signed", {"letter_id": 8})
        db.session.commit()
        assert delivery.deliver_due()["retry"] == 1
        codes = [a.status_code for a in db.session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id))]
        assert codes == [204, 204, 400] and endpoint.id
    finally:
        server.shutdown()
