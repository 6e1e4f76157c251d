"""Price suggested changes to the register import without editing the app (used by bench_import.py).

Runs what ``flask import-residents FILE`` does, with these changes patched in this process only:

* always: ONE pass over the file. Today the CLI calls ``analyse()`` to print the summary and then
  ``apply()``, which calls ``analyse()`` again: the file is read, parsed and validated twice.
  Here ``apply()`` runs once and its summary is printed.
* ``fast-dates``: ``_parse_date`` tries DD-MM-YYYY by slicing before the strptime loop
  (``datetime.strptime`` is ~25 % of the per-row validation).
* ``calamine``: XLSX rows come from python-calamine (Rust) instead of openpyxl's read-only mode,
  if that package is importable (it is not a project dependency; the bench skips the variant).
  To try it without touching the project's venv: ``python -m venv /tmp/cal && /tmp/cal/bin/pip
  install python-calamine`` and set ``BENCH_CALAMINE_PATH=/tmp/cal/lib/python3.11/site-packages``
  (appended to sys.path, after the project's packages, in this variant only).

    python bench/whatif_import.py FILE [single] [fast-dates] [calamine]
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fast_dates(ri) -> None:
    original = ri._parse_date

    def parse(value) -> date:
        if isinstance(value, str) and len(value) == 10 and value[2] == "-" and value[5] == "-":
            try:
                return date(int(value[6:]), int(value[3:5]), int(value[:2]))
            except ValueError:
                pass
        return original(value)

    ri._parse_date = parse


def calamine_reader(ri) -> None:
    from python_calamine import CalamineWorkbook

    def iter_xlsx(path: Path):
        wb = CalamineWorkbook.from_path(str(path))
        try:
            yield from wb.get_sheet_by_index(0).iter_rows()
        finally:
            wb.close()

    ri._iter_xlsx = iter_xlsx


def main() -> int:
    path, *changes = sys.argv[1:]
    if "calamine" in changes:
        if os.environ.get("BENCH_CALAMINE_PATH"):
            sys.path.append(os.environ["BENCH_CALAMINE_PATH"])
        try:
            import python_calamine  # noqa: F401
        except ImportError:
            print("SKIP: python-calamine is not installed")
            return 3
    sys.path.insert(0, str(ROOT))
    from sempelmas import create_app
    from sempelmas.cli import _print_summary
    from sempelmas.extensions import db
    from sempelmas.services import register_import as ri

    if "fast-dates" in changes:
        fast_dates(ri)
    if "calamine" in changes:
        calamine_reader(ri)
    app = create_app()
    with app.app_context():
        summary = ri.apply(path, actor_id=None, chunk=app.config["IMPORT_CHUNK_SIZE"])
        db.session.commit()
        _print_summary(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
