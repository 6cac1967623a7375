"""Opening a local, self-contained HTML file in a real headless Chromium and saying what happened.

Not a test file: tests import `visit_file` and the `needs_browser` marker from here. The browser is
Debian's /usr/bin/chromium (scripts/test.sh installs it), driven by Playwright's bundled driver;
Playwright's own browser downloads are never used. Nothing a page asks for may leave the machine:
the context is offline, host names resolve to nothing, and every request other than file: and
data: is aborted, yet still recorded so a test can fail on it. Nothing is written to the user's home
either: the browser gets a home and XDG folders of its own (see `visit_file`'s `home`).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")

# Playwright already passes --headless, --no-sandbox (we run as root in CI), --no-first-run,
# --disable-background-networking, --disable-component-update and a fresh temporary --user-data-dir;
# they are repeated here so the list states everything this machine needs in one place. Without the
# background-networking flags Chromium opens connections at start (refused here). The resolver rule
# makes any host name that still slips through fail locally instead of being looked up.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)

# What the route lets through: the page itself, other local files (still recorded) and data: URLs.
_LOCAL_SCHEMES = ("file:", "data:")


def _browser_skip_reason() -> str | None:
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing: install Debian's chromium package (scripts/test.sh does so as root)"
    try:
        import playwright.sync_api  # noqa: F401  (only whether it imports matters here)
    except ImportError as error:
        return f"playwright does not import ({error}): install the dev extra"
    return None


BROWSER_SKIP_REASON: str | None = _browser_skip_reason()

needs_browser = pytest.mark.skipif(BROWSER_SKIP_REASON is not None, reason=BROWSER_SKIP_REASON or "")


@dataclass(frozen=True)
class Visit:
    """What one page load in Chromium showed.

    console_messages: (type, text) in order, type as Chromium names it ("log", "warning", "error", ...).
    page_errors: uncaught exceptions, as "Name: message".
    requests: every URL the page asked for other than the file itself and data: URLs, other local
        files included (a self-contained page needs none); non-file ones were all aborted or blocked.
    failed_requests: (url, why) for every request that did not complete, e.g. "csp",
        "net::ERR_BLOCKED_BY_CLIENT.Inspector" (aborted by us) or "net::ERR_FILE_NOT_FOUND".
    text / html: document.body.innerText and the serialized DOM after load.
    seconds: wall time of the whole visit, browser start and close included.
    pdf_page_count: A4 pages when printed, if a PDF was asked for.
    """

    url: str
    title: str
    console_messages: list[tuple[str, str]]
    page_errors: list[str]
    requests: list[str]
    failed_requests: list[tuple[str, str]]
    text: str
    html: str
    seconds: float
    pdf_page_count: int | None = None

    @property
    def console_errors(self) -> list[str]:
        return [text for kind, text in self.console_messages if kind == "error"]

    @property
    def problems(self) -> list[str]:
        """Everything a self-contained, script-clean page should not produce, one line each: empty
        means clean. Meant for `assert visit.problems == []`, whose failure shows what went wrong."""
        return (
            [f"console error: {text}" for text in self.console_errors]
            + [f"uncaught exception: {text}" for text in self.page_errors]
            + [f"request: {url}" for url in self.requests]
            + [f"failed request: {url} ({why})" for url, why in self.failed_requests]
        )


def pdf_page_count(pdf: bytes) -> int:
    """Pages in a PDF written by Chromium (Skia writes each page as an uncompressed `/Type /Page`
    dictionary, never inside an object stream, so counting them is enough here)."""
    return len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", pdf))


@contextlib.contextmanager
def _browser_home(home: Path | None) -> Iterator[dict[str, str]]:
    """The browser's environment, with HOME and the XDG folders in `home` (a temporary folder,
    removed afterwards, when None). Whatever --user-data-dir says, Chromium keeps its crash-report
    settings in $XDG_CONFIG_HOME/chromium and GTK its dconf database in $XDG_CACHE_HOME."""
    with contextlib.ExitStack() as stack:
        if home is None:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="chromium-home-")))
        folders = {"HOME": home, "XDG_CONFIG_HOME": home / "config", "XDG_CACHE_HOME": home / "cache",
                   "XDG_DATA_HOME": home / "data"}
        for folder in folders.values():
            folder.mkdir(parents=True, exist_ok=True)
        yield {**os.environ, **{name: str(folder) for name, folder in folders.items()}}


def visit_file(
    html_path: Path,
    screenshot_path: Path | None = None,
    *,
    pdf_path: Path | None = None,
    home: Path | None = None,
    width: int = 1280,
    height: int = 900,
    full_page: bool = True,
    timeout_s: float = 30,
) -> Visit:
    """Load `html_path` in a fresh headless Chromium and wait for its load event and two animation
    frames (so scripts run at load have run and the page has painted). Optionally save a PNG
    screenshot (the whole page unless `full_page` is False) and print the page to an A4 PDF,
    counting its pages. The browser's own files go to `home` (tests give a folder in tmp_path; by
    default a temporary folder, removed afterwards). Raises if the browser cannot start or the
    page does not load in time."""
    if BROWSER_SKIP_REASON is not None:
        raise RuntimeError(BROWSER_SKIP_REASON)
    from playwright.sync_api import sync_playwright

    html_path = Path(html_path).resolve()
    if not html_path.is_file():
        raise FileNotFoundError(html_path)
    own_url = html_path.as_uri()
    timeout_ms = timeout_s * 1000

    console_messages: list[tuple[str, str]] = []
    page_errors: list[str] = []
    requests: list[str] = []
    failed_requests: list[tuple[str, str]] = []

    def record_request(url: str) -> None:
        # Both the request event and the route see most requests; a URL is listed once. Other local
        # files are listed too: they load, but a self-contained page must not need them.
        if url != own_url and not url.startswith("data:") and url not in requests:
            requests.append(url)

    def keep_local(route) -> None:
        url = route.request.url
        record_request(url)
        if url.startswith(_LOCAL_SCHEMES):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    started = time.monotonic()
    with _browser_home(home) as environment, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS), headless=True, timeout=timeout_ms,
            env=environment,
        )
        try:
            context = browser.new_context(viewport={"width": width, "height": height}, offline=True)
            page = context.new_page()
            page.set_default_timeout(timeout_ms)
            page.on("console", lambda message: console_messages.append((message.type, message.text)))
            page.on("pageerror", lambda error: page_errors.append(f"{error.name}: {error.message}"))
            page.on("request", lambda request: record_request(request.url))
            page.on("requestfailed", lambda request: failed_requests.append((request.url, request.failure or "")))
            # WebSockets bypass routing; offline=True already stops them, this only records them.
            page.on("websocket", lambda socket: record_request(socket.url))
            page.route("**/*", keep_local)

            page.goto(own_url, wait_until="load")
            page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
            if screenshot_path is not None:
                Path(screenshot_path).parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot_path), full_page=full_page)
            pages = None
            if pdf_path is not None:
                Path(pdf_path).parent.mkdir(parents=True, exist_ok=True)
                # page.pdf switches to print media itself; the screenshot above was taken as on screen.
                pdf = page.pdf(path=str(pdf_path), format="A4", print_background=True)
                pages = pdf_page_count(pdf)
            title = page.title()
            text = page.evaluate("() => document.body ? document.body.innerText : ''")
            html = page.content()
        finally:
            browser.close()

    return Visit(
        url=own_url,
        title=title,
        console_messages=console_messages,
        page_errors=page_errors,
        requests=requests,
        failed_requests=failed_requests,
        text=text,
        html=html,
        seconds=time.monotonic() - started,
        pdf_page_count=pages,
    )

