"""Screenshots of the main pages at 1440 and 390 px, light and dark: docs/screenshots/<state>-<width>-<theme>.png.

    .venv/bin/python -m tests.browser.screenshots [--out DIR] [--only STATE ...]

(`make screenshots` runs it.) The app runs on a fresh SQLite database in a temporary folder, filled with the
demo data of tests/browser/states.py, and is served on a free local port; the system Chromium takes the
pictures, with the page states the look tests check.
"""

import argparse
import logging
import os
import sys
import tempfile
import threading
from pathlib import Path

# Cheap password hashing for the demo users; read when the first password is hashed.
os.environ.setdefault("KEYDESK_PASSWORD_HASH_ROUNDS", "4")

from werkzeug.serving import make_server  # noqa: E402

from tests.browser import look  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.browser.states import STATES, seed_demo, sign_in  # noqa: E402
from tests.conftest import ELASTIC_PASSWORD  # noqa: E402

OUT = look.ROOT / "docs" / "screenshots"
VIEWPORTS = ((1440, 900), (390, 844))
THEMES = ("light", "dark")


def build_app(folder: Path):
    """The app on a new SQLite database in `folder`, with the demo data in it."""
    os.environ["KEYDESK_INSTANCE_PATH"] = str(folder / "instance")  # never the developer's instance/config.py
    from webapp import create_app
    from webapp.model.db import database
    from webapp.services.schema import bootstrap

    app = create_app({
        "KEYDESK_DATABASE_URL": f"sqlite:///{folder / 'keydesk.sqlite3'}",
        "KEYDESK_RATELIMIT_STORAGE_URL": "memory://",
        "SECRET_KEY": "screenshots",
    })
    with database.connection_context():
        bootstrap.initialise(ELASTIC_PASSWORD)
        seed_demo()
    return app


def serve(app):
    """Serve `app` in a thread; returns (base URL, stop function)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop():
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()

    return f"http://127.0.0.1:{server.server_port}", stop


def shoot(page, state, out: Path) -> list[Path]:
    """Enter `state` and photograph it at every viewport and theme."""
    page.set_viewport_size({"width": VIEWPORTS[0][0], "height": VIEWPORTS[0][1]})
    page.emulate_media(color_scheme="light", reduced_motion="reduce")
    state.enter(page)
    written = []
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        for theme in THEMES:
            page.emulate_media(color_scheme=theme)
            look.settle(page)
            path = out / f"{state.name}-{width}-{theme}.png"
            # The whole page, but a modal dialog as the person sees it: its backdrop covers the viewport only.
            modal = page.locator("dialog[open]").count() > 0
            page.screenshot(path=str(path), full_page=not modal, animations="disabled", caret="hide")
            written.append(path)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder for the PNGs (default: {OUT})")
    parser.add_argument("--only", nargs="+", metavar="STATE", help="just these states")
    args = parser.parse_args(argv)
    chosen = [state for state in STATES if state.screenshot]
    if args.only:
        known = {state.name: state for state in STATES}
        unknown = [name for name in args.only if name not in known]
        if unknown:
            parser.error(f"unknown state(s) {', '.join(unknown)}; known: {', '.join(known)}")
        chosen = [known[name] for name in args.only]
    empty = [state.name for state in chosen if state.data != "demo" and state.signed_in]
    if empty:
        parser.error(f"state(s) {', '.join(empty)} need an empty database; the screenshots show the demo data")
    if not os.access(CHROMIUM, os.X_OK):
        print(f"Chromium not found at {CHROMIUM}: install it (apt-get install -y chromium) or set KEYDESK_CHROMIUM.",
              file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="keydesk-screenshots-") as folder:
        base_url, stop = serve(build_app(Path(folder)))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                # Two browser contexts: one signed in as elastic, one signed out (the login page).
                contexts = {}
                for state in chosen:
                    if state.signed_in not in contexts:
                        context = browser.new_context(base_url=base_url)
                        context.set_default_timeout(15_000)
                        page = context.new_page()
                        if state.signed_in:
                            sign_in(page)
                        contexts[state.signed_in] = page
                    for path in shoot(contexts[state.signed_in], state, args.out):
                        print(path.relative_to(look.ROOT) if path.is_relative_to(look.ROOT) else path)
                browser.close()
        finally:
            stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
