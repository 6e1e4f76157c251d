"""Benchmark: importing a 20,000-row population register (CSV and XLSX) through the CLI.

Acceptance: one import of 20,000 rows takes <= 10 s wall time with <= 300 MB peak memory.

The script generates a realistic register (valid NIK/KK numbers, families of 3-5 sharing a KK,
~1.5 % deliberately wrong rows, a few NIK/birth-date disagreements) and writes it three ways:
``csv``; ``xlsx`` as openpyxl writes it (every text cell inline); ``xlsx-excel``, the same workbook
rewritten the way Excel/LibreOffice save it (shared-string table, <dimension>). For each file it
migrates a fresh SQLite database and measures, each in a separate child process:

* ``bare read``  - a process that only reads the file the way the import does (python-calamine /
                   csv) and counts rows: the floor the import cannot go below;
* ``app start``  - a process that only builds the Flask app (imports + create_app);
* ``import #1``  - ``flask --app app import-residents FILE`` into the empty register;
* ``import #2``  - the same file again: must report 0 new / 0 changed (idempotent).

Wall time is measured around the child; CPU time and peak memory (``ru_maxrss``) come from the
child's ``os.wait4`` rusage. With ``BENCH_DATABASE_URL`` (or ``TEST_DATABASE_URL``) pointing at
PostgreSQL the imports also run against a scratch database created on that server (and dropped
afterwards). ``--profile FORMAT`` prints a cProfile of import #1.

    .venv/bin/python bench/bench_import.py [--rows 20000] [--formats csv,xlsx,xlsx-excel]
        [--repeat N] [--profile csv|xlsx|xlsx-excel] [--keep]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

MAX_SECONDS = 10.0
MAX_RSS_MB = 300.0
CHILD_TIMEOUT = 300  # seconds: a hung child is killed, the run is reported as failed

HEADER = ["NIK", "KK", "Nama", "Tempat Lahir", "Tanggal Lahir", "Jenis Kelamin", "Alamat", "RT", "RW",
          "Agama", "Status Perkawinan", "Pekerjaan", "Kewarganegaraan"]

# ---------------------------------------------------------------------------------------------
# Register generator
# ---------------------------------------------------------------------------------------------

HOME_REGION = "357603"  # Jawa Timur · Kota Mojokerto · Kranggan (the demo kelurahan)
OTHER_REGIONS = ["357601", "357602", "351601", "351605", "357811", "357808", "350701", "337402",
                 "317404", "320409", "351524", "357205"]
MALE = ["AHMAD", "BUDI", "SUGENG", "JOKO", "AGUS", "HERU", "EKO", "WAHYU", "RUDI", "YUSUF", "HADI",
        "SLAMET", "TEGUH", "ARIF", "DWI", "FAJAR", "GALIH", "IWAN", "NUR", "RIZKI", "BAMBANG", "DEDI",
        "HENDRA", "IMAM", "KUSNADI", "MUHAMMAD", "PRIYO", "SUPRIYADI", "TRI", "YOGA", "ANDI", "BAYU"]
FEMALE = ["SRI", "SITI", "ENDANG", "DEWI", "RINA", "YULI", "WATI", "NINGSIH", "ANI", "LESTARI", "INDAH",
          "PUTRI", "AYU", "FITRI", "RATNA", "TITIK", "UMI", "WULAN", "NOVI", "RAHAYU", "DIAH", "ERNA",
          "KARTIKA", "MEGA", "NURUL", "SUSI", "TUTIK", "YUNI", "ANISA", "DINDA", "SALSABILA", "ZAHRA"]
SURNAMES = ["SANTOSO", "WIBOWO", "SUSANTO", "HIDAYAT", "PRASETYO", "KURNIAWAN", "SETIAWAN", "NUGROHO",
            "PURNOMO", "SAPUTRA", "HARTONO", "WIJAYA", "SUBAGYO", "RAHARJO", "HANDOKO", "FIRMANSYAH",
            "RAMADHAN", "SURYADI", "UTOMO", "WAHYUDI", "PRATAMA", "MAULANA", "SYAHPUTRA", "HAKIM"]
PLACES = ["MOJOKERTO", "MOJOKERTO", "MOJOKERTO", "SURABAYA", "JOMBANG", "SIDOARJO", "MALANG", "KEDIRI",
          "LAMONGAN", "GRESIK", "PASURUAN", "SEMARANG", "JAKARTA", "BANDUNG", "MADIUN"]
STREETS = ["JL. PEMUDA", "JL. JAGALAN GG. I", "JL. JAGALAN GG. II", "JL. EMPUNALA", "JL. KARTINI",
           "JL. MAJAPAHIT", "JL. BRAWIJAYA", "JL. GAJAH MADA", "JL. HAYAM WURUK", "JL. RESIK",
           "JL. SURODINAWAN", "JL. KEDUNDUNG"]
RELIGIONS = ["ISLAM"] * 17 + ["KRISTEN", "KATHOLIK", "HINDU", "BUDDHA", "KONGHUCU"]
OCCUPATIONS = ["KARYAWAN SWASTA", "WIRASWASTA", "PEDAGANG", "GURU", "BURUH HARIAN LEPAS", "PNS",
               "PENSIUNAN", "PETANI/PEKEBUN", "SOPIR", "PERAWAT", "TNI", "POLRI", "BIDAN", "TUKANG BATU"]
CHILD_OCCUPATIONS = ["PELAJAR/MAHASISWA", "BELUM/TIDAK BEKERJA"]
TODAY = date.today()


def _birth(rng: random.Random, oldest: date, youngest: date) -> date:
    return oldest + timedelta(days=rng.randrange(max(1, (youngest - oldest).days)))


def _fmt(d: date) -> str:
    return d.strftime("%d-%m-%Y")


class Register:
    """Deterministic register rows (lists of 13 values in HEADER order)."""

    def __init__(self, rows: int, seed: int = 2026):
        self.rng = random.Random(seed)
        self.target = rows
        self.serials: dict[str, int] = {}
        self.kk_serials: dict[str, int] = {}
        self.rows: list[list] = []
        self.bad = 0
        self.mismatch = 0

    def _nik(self, region: str, birth: date, female: bool) -> str:
        prefix = f"{region}{birth.day + (40 if female else 0):02d}{birth.month:02d}{birth.year % 100:02d}"
        self.serials[prefix] = self.serials.get(prefix, 0) + 1
        return f"{prefix}{self.serials[prefix]:04d}"

    def _kk(self) -> str:
        issued = _birth(self.rng, date(2008, 1, 1), TODAY - timedelta(days=30))
        prefix = f"{HOME_REGION}{issued:%d%m%y}"
        self.kk_serials[prefix] = self.kk_serials.get(prefix, 0) + 1
        return f"{prefix}{self.kk_serials[prefix]:04d}"

    def _person(self, kk: str, address: str, rt: int, rw: int, birth: date, female: bool,
                surname: str, marital: str, child: bool) -> list:
        rng = self.rng
        region = HOME_REGION if rng.random() < 0.75 or child else rng.choice(OTHER_REGIONS)
        given = rng.choice(FEMALE if female else MALE)
        middle = rng.choice(FEMALE if female else MALE) if rng.random() < 0.3 else ""
        name = " ".join(p for p in (given, middle, surname if rng.random() < 0.7 else "") if p)
        occupation = (rng.choice(CHILD_OCCUPATIONS) if child else
                      "MENGURUS RUMAH TANGGA" if female and rng.random() < 0.4 else rng.choice(OCCUPATIONS))
        return [self._nik(region, birth, female), kk, name,
                "MOJOKERTO" if child and rng.random() < 0.8 else rng.choice(PLACES), _fmt(birth),
                "P" if female else "L", address, rt, rw, rng.choice(RELIGIONS), marital, occupation, "WNI"]

    def _family(self) -> list[list]:
        rng = self.rng
        size = rng.randint(3, 5)
        kk = self._kk()
        surname = rng.choice(SURNAMES)
        address = f"{rng.choice(STREETS)} NO. {rng.randint(1, 150)}" + (
            f", GG. {rng.choice('ABCDE')}" if rng.random() < 0.15 else "")
        rt, rw = rng.randint(1, 12), rng.randint(1, 4)
        head_birth = _birth(rng, date(1950, 1, 1), date(1996, 12, 31))
        head_female = rng.random() < 0.08  # widows heading a family
        members = [self._person(kk, address, rt, rw, head_birth, head_female, surname,
                                "CERAI MATI" if head_female else "KAWIN", False)]
        spouse = not head_female and size >= 3 and rng.random() < 0.9
        if spouse:
            wife_birth = _birth(rng, head_birth - timedelta(days=3 * 365), head_birth + timedelta(days=8 * 365))
            members.append(self._person(kk, address, rt, rw, min(wife_birth, date(2000, 1, 1)), True, "",
                                        "KAWIN", False))
        first_child = head_birth + timedelta(days=20 * 365)
        while len(members) < size:
            child_birth = _birth(rng, first_child, min(first_child + timedelta(days=20 * 365),
                                                       TODAY - timedelta(days=30)))
            members.append(self._person(kk, address, rt, rw, child_birth, rng.random() < 0.5, surname,
                                        "BELUM KAWIN" if TODAY.year - child_birth.year < 22 or rng.random() < 0.5
                                        else "KAWIN", True))
        return members

    def _spoil(self, row: list) -> list:
        """A row an operator or an export got wrong (the import must skip it and say why)."""
        rng = self.rng
        row = list(row)
        kind = rng.randrange(9)
        if kind == 0:
            row[0] = row[0][:15]  # a digit lost
        elif kind == 1:
            row[0] = "99" + row[0][2:]  # no such province
        elif kind == 2:
            row[0] = row[0][:8] + "13" + row[0][10:]  # month 13
        elif kind == 3:
            row[4] = "31-02-19" + row[4][-2:] + "x"  # not a date
        elif kind == 4:
            row[5] = "X"
        elif kind == 5:
            row[7] = "1A"
        elif kind == 6:
            row[2] = ""
        elif kind == 7:
            row[1] = row[1][:14]
        else:
            row[0] = rng.choice(self.rows)[0]  # duplicate of an earlier row's NIK
        self.bad += 1
        return row

    def _disagree(self, row: list) -> list:
        """NIK and typed data disagree: imported with a warning for staff."""
        row = list(row)
        if self.rng.random() < 0.5:
            row[5] = "P" if row[5] == "L" else "L"
        else:
            d = date(int(row[4][6:]), int(row[4][3:5]), int(row[4][:2])) + timedelta(days=1)
            row[4] = _fmt(d)
        self.mismatch += 1
        return row

    def build(self, bad_share: float = 0.015, mismatch_share: float = 0.005) -> list[list]:
        rng = self.rng
        while len(self.rows) < self.target:
            for row in self._family():
                if len(self.rows) >= self.target:
                    break
                roll = rng.random()
                if roll < bad_share and self.rows:
                    row = self._spoil(row)
                elif roll < bad_share + mismatch_share:
                    row = self._disagree(row)
                elif roll < bad_share + mismatch_share + 0.02:
                    # spellings the import normalises (still the same values after cleaning)
                    row[5] = {"L": "Laki-laki", "P": "Perempuan"}[row[5]]
                self.rows.append(row)
        return self.rows


def write_csv(rows: list[list], path: Path) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for r in rows:
            w.writerow([f"{v:03d}" if isinstance(v, int) else v for v in r])


def write_xlsx(rows: list[list], path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Data Penduduk")
    ws.append(HEADER)
    for r in rows:
        ws.append(r)  # NIK/KK as text (16 digits do not fit a float), RT/RW as numbers
    wb.save(path)


SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
SST_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
INLINE_CELL = re.compile(r'<c r="([A-Z]+[0-9]+)"((?: s="[0-9]+")?) t="inlineStr"><is>(<t[^>]*>.*?</t>)</is></c>')


def excel_style(src: Path, dst: Path) -> None:
    """Rewrite openpyxl's output the way Excel/LibreOffice save it: a shared-string table and a
    <dimension>. openpyxl 3.1 writes every text cell inline (<is><t>…) and, in write-only mode, no
    dimension; reading that back is ~2-3x slower than reading an Excel-saved file."""
    with zipfile.ZipFile(src) as zin:
        parts = {i.filename: zin.read(i.filename) for i in zin.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    strings: dict[str, int] = {}
    count = 0

    def shared(m: re.Match) -> str:
        nonlocal count
        count += 1
        idx = strings.setdefault(m.group(3), len(strings))
        return f'<c r="{m.group(1)}"{m.group(2)} t="s"><v>{idx}</v></c>'

    sheet = INLINE_CELL.sub(shared, sheet)
    if "<dimension " not in sheet:
        last_row = sheet.rsplit('<row r="', 1)[1].split('"', 1)[0]
        sheet = sheet.replace("<sheetViews>", f'<dimension ref="A1:M{last_row}" /><sheetViews>', 1)
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    parts["xl/sharedStrings.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{count}" '
        f'uniqueCount="{len(strings)}">' + "".join(f"<si>{t}</si>" for t in strings) + "</sst>"
    ).encode()
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SST_TYPE}"/></Types>'.encode())
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        f'<Relationship Id="rIdSst" Type="{SST_REL}" Target="sharedStrings.xml"/></Relationships>'.encode())
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in parts.items():
            zout.writestr(name, data)


# ---------------------------------------------------------------------------------------------
# Child processes
# ---------------------------------------------------------------------------------------------

@dataclass
class Run:
    label: str
    seconds: float  # wall time of the child
    cpu: float  # user + system CPU seconds of the child
    rss_mb: float  # peak resident set size of the child
    rc: int
    out: str
    err: str

    @property
    def summary(self) -> dict[str, int]:
        m = re.search(r"Baris: (\d+)\s+baru: (\d+)\s+berubah: (\d+)\s+tetap: (\d+)\s+salah: (\d+)\s+"
                      r"peringatan: (\d+)", self.out)
        if not m:
            return {}
        keys = ("total", "new", "changed", "unchanged", "errors", "warnings")
        return dict(zip(keys, map(int, m.groups()), strict=True))


# The measuring parent holds the generated register (~100 MB). Linux folds the parent's memory
# high-water mark into a forked child's ru_maxrss, so the child is started by this small launcher:
# a fresh interpreter (~10 MB) that spawns the command, times it and reports its wait4() rusage.
LAUNCHER = r"""
import os, signal, sys, time
out, err, timeout, report, *argv = sys.argv[1:]
fo = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
fe = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
start = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[
    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
    (os.POSIX_SPAWN_DUP2, fo, 1), (os.POSIX_SPAWN_DUP2, fe, 2)])
signal.signal(signal.SIGALRM, lambda *a: os.kill(pid, signal.SIGKILL))
signal.alarm(int(timeout))
_, status, ru = os.wait4(pid, 0)
seconds = time.perf_counter() - start
signal.alarm(0)
with open(report, "w") as fh:
    fh.write(f"{seconds} {ru.ru_utime + ru.ru_stime} {ru.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def run_child(label: str, argv: list[str], env: dict, workdir: Path) -> Run:
    """Run ``argv`` in a fresh process: its wall time, CPU time and peak RSS (ru_maxrss, KiB on Linux)."""
    slug = re.sub(r"\W+", "_", label)
    out, err, report = (workdir / f"{slug}.{ext}" for ext in ("out", "err", "rusage"))
    report.unlink(missing_ok=True)
    proc = subprocess.run([PYTHON, "-c", LAUNCHER, str(out), str(err), str(CHILD_TIMEOUT), str(report), *argv],
                          env=env, cwd=ROOT, timeout=CHILD_TIMEOUT + 30, check=False)
    if proc.returncode != 0 or not report.exists():
        raise SystemExit(f"launcher failed for {label} (rc={proc.returncode})")
    seconds, cpu, maxrss, rc = report.read_text().split()
    return Run(label, float(seconds), float(cpu), int(maxrss) / 1024, int(rc),
               out.read_text(errors="replace"), err.read_text(errors="replace"))


BARE_READ = r"""
import csv, sys
from pathlib import Path
p = Path(sys.argv[1])
n = 0
if p.suffix == ".xlsx":
    from python_calamine import CalamineWorkbook
    wb = CalamineWorkbook.from_path(str(p))
    for row in wb.get_sheet_by_index(0).iter_rows():
        n += 1
    wb.close()
else:
    with p.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.reader(fh):
            n += 1
print(n - 1, "rows")
"""

APP_START = "from sempelmas import create_app; create_app()"


def flask(*args: str) -> list[str]:
    return [PYTHON, "-m", "flask", "--app", "app", *args]


def child_env(database_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "SEMPELMAS_"))}
    env.update(SECRET_KEY="bench-" + uuid.uuid4().hex, DATABASE_URL=database_url, SEMPELMAS_ENV="development",
               PYTHONUNBUFFERED="1")
    return env


# ---------------------------------------------------------------------------------------------
# PostgreSQL scratch database (optional)
# ---------------------------------------------------------------------------------------------

class PgScratch:
    """CREATE DATABASE next to the given URL's database, DROP it afterwards."""

    def __init__(self, base_url: str):
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self.base = make_url(base_url)
        self.name = f"sempelmas_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.url = self.base.set(database=self.name).render_as_string(hide_password=False)
        self.engine = create_engine(self.base, isolation_level="AUTOCOMMIT")

    def __enter__(self) -> str:
        from sqlalchemy import text

        with self.engine.connect() as c:
            c.execute(text(f'CREATE DATABASE "{self.name}"'))
        return self.url

    def __exit__(self, *exc) -> None:
        from sqlalchemy import text

        with self.engine.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.engine.dispose()


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------

def bench_one(fmt: str, path: Path, database_url: str, workdir: Path, db_label: str,
              floors: bool) -> list[tuple[Run, str]]:
    env = child_env(database_url)
    tag = f"{fmt}/{db_label}"
    mig = run_child(f"{tag} migrate", flask("db", "upgrade"), env, workdir)
    if mig.rc != 0:
        raise SystemExit(f"flask db upgrade failed for {tag}:\n{mig.err[-2000:]}")
    results: list[tuple[Run, str]] = []
    if floors:  # the floors do not depend on the database
        results.append((run_child(f"{fmt} bare read", [PYTHON, "-c", BARE_READ, str(path)], env, workdir), "floor"))
        results.append((run_child(f"{fmt} app start", [PYTHON, "-c", APP_START], env, workdir), "floor"))
    results.append((run_child(f"{tag} import #1", flask("import-residents", str(path)), env, workdir), "first"))
    results.append((run_child(f"{tag} import #2", flask("import-residents", str(path)), env, workdir), "again"))
    return results


def problems(run: Run, kind: str, expected_valid: int) -> list[str]:
    """What is wrong with a run's outcome (not its timing)."""
    out = [f"rc={run.rc}"] if run.rc != 0 else []
    if kind == "floor":
        return out
    s = run.summary
    if not s:
        out.append("no summary")
    elif kind == "first" and s["new"] != expected_valid:
        out.append(f"new={s['new']} (expected {expected_valid})")
    elif kind == "again" and (s["new"] or s["changed"]):
        out.append(f"not idempotent (new={s['new']} changed={s['changed']})")
    return out


def verdict(runs: list[Run], kind: str, expected_valid: int) -> tuple[str, float, float]:
    """PASS/FAIL on the median wall time and the largest peak memory of the repeats."""
    wall = statistics.median(r.seconds for r in runs)
    rss = max(r.rss_mb for r in runs)
    bad = [p for r in runs for p in problems(r, kind, expected_valid)]
    if kind != "floor":
        if wall > MAX_SECONDS:
            bad.append(f"{wall:.1f} s > {MAX_SECONDS:.0f} s")
        if rss > MAX_RSS_MB:
            bad.append(f"{rss:.0f} MB > {MAX_RSS_MB:.0f} MB")
    if kind == "floor":
        return ("" if not bad else "FAIL: " + ", ".join(bad)), wall, rss
    return ("PASS" if not bad else "FAIL: " + ", ".join(sorted(set(bad), key=bad.index))), wall, rss


def expected_counts(rows: list[list]) -> tuple[int, int]:
    """(valid, wrong) per the import's own rules, to check the reported counts."""
    sys.path.insert(0, str(ROOT))
    from sempelmas import create_app
    from sempelmas.services.people import register_import as ri

    app = create_app({"SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True})
    valid = wrong = 0
    seen: set[str] = set()
    with app.app_context():
        for r in rows:
            row, errors, _warnings = ri.clean_row(dict(zip(ri.COLUMNS, r, strict=True)))
            if errors or row["nik"] in seen:
                wrong += 1
            else:
                seen.add(row["nik"])
                valid += 1
    return valid, wrong


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--formats", default="csv,xlsx,xlsx-excel",
                    help="csv, xlsx (as openpyxl writes it: inline strings), xlsx-excel (shared strings, as "
                         "Excel/LibreOffice save it)")
    ap.add_argument("--repeat", type=int, default=1, help="repeat every run N times (verdict on the median)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (files, databases, child output)")
    ap.add_argument("--profile", choices=["csv", "xlsx", "xlsx-excel"],
                    help="also run import #1 of that format under cProfile and print the top functions")
    args = ap.parse_args()
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]

    workdir = Path(tempfile.mkdtemp(prefix="sempelmas-bench-import-"))
    try:
        t0 = time.perf_counter()
        reg = Register(args.rows)
        rows = reg.build()
        files = {"csv": workdir / "register.csv", "xlsx": workdir / "register.xlsx",
                 "xlsx-excel": workdir / "register-excel.xlsx"}
        if "csv" in formats:
            write_csv(rows, files["csv"])
        if {"xlsx", "xlsx-excel"} & set(formats):
            write_xlsx(rows, files["xlsx"])
        if "xlsx-excel" in formats:
            excel_style(files["xlsx"], files["xlsx-excel"])
        valid, wrong = expected_counts(rows)
        families = len({r[1] for r in rows})
        print(f"Generated {len(rows):,} rows ({families:,} KK, {reg.bad} spoiled -> {wrong} rejected by the "
              f"rules, {reg.mismatch} NIK/date disagreements) in {time.perf_counter() - t0:.1f} s")
        for f in formats:
            print(f"  {files[f].name}: {files[f].stat().st_size / 1e6:.1f} MB")
        print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, workdir {workdir}\n")

        targets = [("sqlite", None)]
        pg_url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
        if pg_url and pg_url.startswith("postgres"):
            targets.append(("postgresql", pg_url))

        print(f"load average before: {_load()}")
        results: list[tuple[Run, str]] = []
        for rep in range(args.repeat):
            for fmt in formats:
                for db_label, base in list(targets):
                    if base is None:
                        url = f"sqlite:///{workdir / f'{fmt}-{rep}.sqlite'}"
                        results += bench_one(fmt, files[fmt], url, workdir, db_label, floors=True)
                        continue
                    try:
                        with PgScratch(base) as url:
                            results += bench_one(fmt, files[fmt], url, workdir, db_label, floors=False)
                    except SystemExit:
                        raise
                    except Exception as e:  # no CREATEDB right, server down...: say so, keep SQLite figures
                        print(f"PostgreSQL skipped ({type(e).__name__}: {str(e).splitlines()[0]})")
                        targets.remove((db_label, base))
        print(f"load average after:  {_load()}\n")

        print(f"{'run':<42} {'wall s':>7} {'cpu s':>6} {'peak MB':>8} {'total':>6} {'new':>6} {'chg':>5} "
              f"{'same':>6} {'wrong':>5}")
        for run, _kind in results:
            s = run.summary
            cols = (f"{s['total']:>6} {s['new']:>6} {s['changed']:>5} {s['unchanged']:>6} {s['errors']:>5}"
                    if s else "")
            print(f"{run.label:<42} {run.seconds:>7.2f} {run.cpu:>6.2f} {run.rss_mb:>8.1f} {cols}")
            if run.rc != 0:
                print("    " + run.err.strip().replace("\n", "\n    ")[-1500:])

        groups: dict[str, tuple[str, list[Run]]] = {}
        for run, kind in results:
            groups.setdefault(run.label, (kind, []))[1].append(run)
        reps = f"median of {args.repeat}" if args.repeat > 1 else "1 run"
        print(f"\nSummary ({reps}; acceptance: import <= {MAX_SECONDS:.0f} s wall, <= {MAX_RSS_MB:.0f} MB peak)")
        print(f"{'run':<42} {'wall s':>7} {'cpu s':>6} {'peak MB':>8}  verdict")
        failed = False
        medians: dict[str, tuple[float, float, float]] = {}
        for label, (kind, runs) in groups.items():
            v, wall, rss = verdict(runs, kind, valid)
            cpu = statistics.median(r.cpu for r in runs)
            medians[label] = (wall, cpu, rss)
            failed |= v.startswith("FAIL")
            print(f"{label:<42} {wall:>7.2f} {cpu:>6.2f} {rss:>8.1f}  {v}")
        print()
        for label, (wall, cpu, rss) in medians.items():
            fmt = label.split("/")[0]
            if label.endswith("import #1") and f"{fmt} bare read" in medians:
                bw, bc, brss = medians[f"{fmt} bare read"]
                sw, sc, srss = medians[f"{fmt} app start"]
                print(f"{label}: {wall:.2f} s wall / {cpu:.2f} s CPU, {rss:.0f} MB; bare read {bw:.2f} s / "
                      f"{bc:.2f} s CPU, {brss:.0f} MB; app start {sw:.2f} s / {sc:.2f} s CPU, {srss:.0f} MB "
                      f"=> ~{cpu - bc - sc + _PY_START_CPU:.2f} s CPU beyond one bare read and the app start")

        if args.profile:
            profile(args.profile, files[args.profile], workdir)
        print("\nRESULT:", "FAIL" if failed else "PASS")
        return 1 if failed else 0
    finally:
        if args.keep:
            print(f"(kept {workdir})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


_PY_START_CPU = 0.03  # a bare interpreter start, counted in both floors: add it back once


def _load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "n/a"
    note = "  (busy machine: wall times are inflated, compare CPU seconds)" if one > (os.cpu_count() or 1) else ""
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs{note}"


def profile(fmt: str, path: Path, workdir: Path) -> None:
    """cProfile of a first import (fresh database), top functions by cumulative and own time."""
    import pstats

    url = f"sqlite:///{workdir / f'profile-{fmt}.sqlite'}"
    env = child_env(url)
    run_child("profile migrate", flask("db", "upgrade"), env, workdir)
    out = workdir / f"import-{fmt}.prof"
    run = run_child(f"profile {fmt}", [PYTHON, "-m", "cProfile", "-o", str(out), "-m", "flask", "--app", "app",
                                       "import-residents", str(path)], env, workdir)
    print(f"\ncProfile of import #1 ({fmt}): {run.seconds:.2f} s under the profiler, rc={run.rc}")
    stats = pstats.Stats(str(out))
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    os.chdir(ROOT)  # the children (posix_spawn) inherit it: `--app app` is found in the project root
    sys.exit(main())
