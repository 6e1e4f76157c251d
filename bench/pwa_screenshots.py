"""Make the web app manifest's screenshots (static/pwa/screenshot-*.png): Android shows them in its richer install
sheet. Phone-sized (360x720 CSS pixels at 2x: 720x1440, the manifest's "sizes"), of demo pages that carry no
personal data: the public service list, one service's requirements, and the offline page with a request form
waiting for a signal (an outbox record made up here, with no answers in it). Reduced to a 32-colour palette to
keep each file small.

The script builds a throw-away instance (temp SQLite, ``flask db upgrade``, ``seed-demo``, ``seed-catalogue``),
serves it on 127.0.0.1 from a thread and drives Debian's Chromium (/usr/bin/chromium) with Playwright.

    .venv/bin/python bench/pwa_screenshots.py [--out static/pwa]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 360, "height": 720}
SCALE = 2
COLOURS = 32
#: (file, path) the pages; the offline page is shown with a made-up waiting form (see WAITING)
PAGES = [("screenshot-services.png", "/layanan"), ("screenshot-service.png", "/layanan/domisili")]
WORKER_ACTIVE = """async () => {
  const reg = await navigator.serviceWorker.ready;
  if (reg.active.state !== "activated") {
    await new Promise(r => reg.active.addEventListener("statechange", () => reg.active.state === "activated" && r()));
  }
}"""
WAITING = """async () => {
  await new Promise(r => { const wait = () => self.SemPelMasOutbox ? r() : setTimeout(wait, 50); wait(); });
  await self.SemPelMasOutbox.put({key: "contoh-tanpa-data-pribadi", url: "/warga/ajukan/domisili", owner: "-",
    title: "Surat Keterangan Domisili", saved: Date.now(), state: "waiting", fields: []});
}"""


def build_instance(workdir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "SEMPELMAS_"))}
    env.update(SECRET_KEY="shots-" + uuid.uuid4().hex, DATABASE_URL=f"sqlite:///{workdir / 'app.db'}",
               SEMPELMAS_ENV="development", PKI_DIR=str(workdir / "pki"))
    for cmd in (["db", "upgrade"], ["seed-demo"], ["seed-catalogue"]):
        proc = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *cmd], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode:
            raise SystemExit(f"flask {' '.join(cmd)} failed:\n{proc.stderr[-1500:]}")
    return env


def serve(env: dict):
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from werkzeug.serving import make_server

    from sempelmas import create_app

    server = make_server("127.0.0.1", 0, create_app(), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def small_png(raw: bytes, path: Path) -> int:
    from PIL import Image

    image = Image.open(io.BytesIO(raw)).convert("RGB")
    assert image.size == (VIEWPORT["width"] * SCALE, VIEWPORT["height"] * SCALE), image.size
    image.quantize(COLOURS, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    return path.stat().st_size


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "static" / "pwa"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    workdir = Path(tempfile.mkdtemp(prefix="sempelmas-shots-"))
    try:
        server = serve(build_instance(workdir))
        base = f"http://127.0.0.1:{server.server_port}"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            context = browser.new_context(base_url=base, viewport=VIEWPORT, device_scale_factor=SCALE,
                                          locale="id-ID", timezone_id="Asia/Jakarta")
            page = context.new_page()
            for name, path in PAGES:
                page.goto(path)
                print(f"{name}: {small_png(page.screenshot(), out / name):,} B")
            page.goto("/offline")
            page.evaluate(WORKER_ACTIVE)
            page.reload()  # now under the service worker, which keeps the offline page for the phone
            page.evaluate(WAITING)
            context.set_offline(True)  # waiting for a signal, as a resident would see it
            page.reload()
            page.locator("#outbox").wait_for()
            print(f"screenshot-offline.png: {small_png(page.screenshot(), out / 'screenshot-offline.png'):,} B")
            browser.close()
        server.shutdown()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
