"""The receiver in docs/WEBHOOKS.md, run as written (its secret filled in) on 127.0.0.1: it accepts what the
notify worker sends, drops a redelivery by its webhook-id, and refuses a body signed with another secret."""

from __future__ import annotations

import re
import threading
from pathlib import Path

from sqlalchemy import select
from werkzeug.serving import make_server

from sempelmas.extensions import db
from sempelmas.models.webhooks import WebhookAttempt, WebhookDelivery
from sempelmas.services.operations import delivery, webhooks

DOC = Path(__file__).resolve().parents[2] / "docs" / "WEBHOOKS.md"


def _snippet() -> str:
    return re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S).group(1)


def test_the_documented_receiver_verifies_and_deduplicates(app, admin, capsys):
    code = _snippet()
    assert "Webhook(SECRET).verify(" in code
    namespace: dict = {"__name__": "receiver_doc"}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    server = make_server("127.0.0.1", 0, namespace["app"], threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint, secret = webhooks.create_endpoint(f"http://127.0.0.1:{server.server_port}/hooks/sempelmas",
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
