"""The English catalogue is complete: every string the app can show has an English translation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]


def test_every_wrapped_string_has_an_english_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    done = subprocess.run([str(Path(sys.executable).with_name("pybabel")), "-q", "extract", "-F", "babel.cfg",
                           "-k", "lazy", "-k", "_l", "-o", str(pot), "."], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    with pot.open("rb") as f:
        wanted = read_po(f)
    with (ROOT / "translations/en/LC_MESSAGES/messages.po").open("rb") as f:
        english = read_po(f, locale="en")
    missing, fuzzy = [], []
    for message in wanted:
        if not message.id:
            continue
        have = english.get(message.id, message.context)
        strings = have.string if have is not None else None
        if have is None or not (all(strings) if isinstance(strings, tuple) else strings):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
        elif have.fuzzy:
            fuzzy.append(message.id if isinstance(message.id, str) else message.id[0])
    assert not missing, (f"{len(missing)} strings without English (run `make translations`, then translate): "
                         + "; ".join(missing[:20]))
    assert not fuzzy, f"{len(fuzzy)} fuzzy (unchecked) English strings: " + "; ".join(fuzzy[:20])
