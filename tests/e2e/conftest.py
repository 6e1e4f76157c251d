"""Browser tests: the real app served on 127.0.0.1 from a thread, driven by the system Chromium.

Every test in this folder is marked ``e2e`` and skipped (with the reason) when Chromium is missing.
pytest-playwright 0.10 declares ``base_url`` and ``browser_context_args`` session scoped, but the app
is built per test (``make_app`` needs ``tmp_path``). Both are overridden here with function scope, and
``browser_context_args`` no longer asks for the plugin's version (which would pull the session-scoped
``base_url`` and trip a scope mismatch). Its fallback ``base_url`` is also a session fixture defined as an
instance method, which pytest 9 warns about, and warnings are errors in this project. So pages take
relative paths: ``page.goto("/daftar")``.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from sempelmas.extensions import db
from sempelmas.services.kelurahan.demo import seed_profile

HERE = Path(__file__).resolve().parent
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "test-results" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SKIP_REASON = (f"Chromium not installed at {CHROMIUM}: run `apt-get install -y chromium` "
               "(make test does it as root)")


def pytest_collection_modifyitems(config, items):
    """Mark the browser tests, and run them after every other test: the browser's session keeps Playwright's
    event-loop threads alive to the end, and code that forks (batch signing, sempelmas/services/operations/detached.py)
    rightly refuses to fork a process with other threads, so tests of its own-process path must run first."""
    have_chromium = os.path.exists(CHROMIUM)
    browser = []
    for item in items:
        if HERE not in Path(str(item.path)).resolve().parents:
            continue
        browser.append(item)
        item.add_marker(pytest.mark.e2e)
        if not have_chromium:
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))
    chosen = set(browser)
    items[:] = [item for item in items if item not in chosen] + browser


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ARGS,
            "headless": browser_type_launch_args.get("headless", True)}


@pytest.fixture
def browser_context_args(pytestconfig, base_url, _pw_artifacts_folder):
    """A mid-range Android phone in Indonesia, pointed at the live server."""
    args = {"base_url": base_url, "viewport": {"width": 360, "height": 740},
            "locale": "id-ID", "timezone_id": "Asia/Jakarta"}
    if pytestconfig.getoption("--video") in ("on", "retain-on-failure"):
        args["record_video_dir"] = _pw_artifacts_folder.name
    return args


@pytest.fixture
def live_app(make_app):
    """The app with real CSRF protection, and the Jagalan profile so pages carry its name."""
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        seed_profile()
        db.session.commit()
        db.session.remove()
    return app


@pytest.fixture
def base_url(live_app):
    """Serve ``live_app`` on a free loopback port for the length of one test."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def shots():
    """``shots(page, "name")`` saves a full-page screenshot to test-results/screenshots/name.png."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOT_DIR / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
        # caret="initial": hiding the caret (the default) leaves style="" on every input, which htmx's
        # settle then copies onto the swapped-in inputs, a CSP violation the page itself never causes
        page.screenshot(path=str(path), full_page=True, caret="initial")
        return path

    return take
