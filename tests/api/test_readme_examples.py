"""The README's "Integrasi" examples work as written: every curl line is replayed against the app with a key that
holds every scope (placeholders filled with real values of the same kind), and each answers what the comment next
to it promises: 200 (or 304 for the If-None-Match line), and the POST /residents example's row is created."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from sqlalchemy import select

from sempelmas.extensions import db
from sempelmas.models.letters import Letter
from sempelmas.models.residents import Resident
from sempelmas.services.integration.scopes import SCOPES
from tests.api_letters import add_complaints, add_letters, letter_world

README = Path(__file__).resolve().parents[2] / "README.md"


def _curl_commands() -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Integrasi", 1)[1].split("\n## ", 1)[0]
    block = section.split("### A curl example per resource", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    block = block.replace("\\\n", " ")
    commands, pending = [], ""
    for line in block.splitlines():
        pending = f"{pending} {line.strip()}" if pending else line.strip()
        try:  # a quoted body may go on over the next lines
            argv = shlex.split(pending, comments=True)
        except ValueError:
            continue
        if argv and argv[0] == "curl":
            commands.append(argv)
        pending = ""
    return commands


def _request(argv: list[str]) -> tuple[str, str, dict, str | None]:
    method, headers, body, url = "GET", {}, None, None
    args = iter(argv[1:])
    for arg in args:
        if arg == "-X":
            method = next(args)
        elif arg == "-H":
            name, _sep, value = next(args).partition(":")
            headers[name.strip()] = value.strip()
        elif arg == "-d":
            body = next(args)
        elif arg == "-i":
            pass
        else:
            url = arg
    return method, url, headers, body


def test_every_curl_example_of_the_readme_answers_as_described(client, api_client_factory, factory):
    world = letter_world(factory)
    add_letters(world, 3)
    add_complaints(2)
    letter = db.session.scalar(select(Letter).order_by(Letter.id).limit(1))
    _c, key = api_client_factory(scopes=list(SCOPES))
    auth = {"Authorization": f"Bearer {key}"}
    first = client.get("/api/v1/letters", headers=auth)
    fill = {"<code>": letter.verify_code, "<tracking_number>": world["request"].tracking_number,
            "<next_cursor>": first.json["next_cursor"], "<etag>": first.headers["ETag"].strip('"')}

    commands = _curl_commands()
    assert len(commands) >= 12
    seen_paths = set()
    for argv in commands:
        method, url, headers, body = _request(argv)
        for placeholder, value in fill.items():
            url = url.replace(placeholder, value)
            headers = {k: v.replace(placeholder, value) for k, v in headers.items()}
        url = url.replace("$API", "/api/v1")
        headers = {k: v.replace("$KEY", key) for k, v in headers.items()}
        assert "<" not in url, url
        resp = client.open(url, method=method, headers=headers, data=body)
        expected = 304 if "If-None-Match" in headers else 200
        assert resp.status_code == expected, (url, resp.status_code, resp.get_data(as_text=True)[:300])
        seen_paths.add(re.sub(r"\?.*", "", url))
        if method == "POST":
            assert [r["outcome"] for r in resp.json["results"]] == ["created"] * len(json.loads(body)["rows"])
            nik = json.loads(body)["rows"][0]["nik"]
            assert db.session.scalar(select(Resident.nik).where(Resident.nik == nik)) == nik
    # every resource of the API has its example
    for path in ("/api/v1/me", "/api/v1/services", "/api/v1/letters", "/api/v1/stats/requests", "/api/v1/ikm",
                 "/api/v1/transparency", "/api/v1/complaints", "/api/v1/residents",
                 f"/api/v1/letters/verify/{letter.verify_code}",
                 f"/api/v1/requests/{world['request'].tracking_number}"):
        assert path in seen_paths, path
