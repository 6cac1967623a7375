"""The headless-Chromium helper itself, on tiny pages: it must see a clean page as clean and catch
every way a page can reach outside itself or fail, or the report checks built on it prove nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from .browser import needs_browser, visit_file

pytestmark = needs_browser

# The policy a self-contained report is meant to satisfy: no scripts, nothing fetched, only inline
# styles and embedded images.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

# A 1x1 transparent GIF, the smallest image that still exercises img-src data:.
DATA_GIF = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


def write_page(directory: Path, body: str, *, csp: str | None = CSP, title: str = "Tiny page") -> Path:
    policy = f'<meta http-equiv="Content-Security-Policy" content="{csp}">' if csp else ""
    path = directory / "page.html"
    path.write_text(
        f'<!doctype html><html><head><meta charset="utf-8">{policy}<title>{title}</title>'
        f"<style>body {{ font-family: sans-serif; }} .tall {{ height: 2000px; }}</style></head>"
        f"<body>{body}</body></html>",
        encoding="utf-8",
    )
    return path


def test_clean_page_loads_without_errors_or_requests_and_is_captured(tmp_path):
    page = write_page(tmp_path, f'<h1>Hello report</h1><img alt="dot" src="{DATA_GIF}"><div class="tall">tall</div>')
    screenshot = tmp_path / "shots" / "page.png"
    pdf = tmp_path / "page.pdf"

    visit = visit_file(page, screenshot, pdf_path=pdf, home=tmp_path / "browser-home")

    assert visit.problems == []
    assert visit.console_errors == [] and visit.page_errors == [] and visit.requests == []
    assert visit.title == "Tiny page"
    assert "Hello report" in visit.text
    assert "<h1>Hello report</h1>" in visit.html
    png = screenshot.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 0
    with Image.open(screenshot) as image:
        # Full page: the viewport's width, and at least the tall block's height.
        assert image.width == 1280 and image.height >= 2000
    assert pdf.read_bytes().startswith(b"%PDF-")
    # 2000 CSS px does not fit on one A4 page (about 1123 px tall), so printing must give two.
    assert visit.pdf_page_count == 2


@pytest.mark.parametrize("csp", [CSP, None], ids=["with-csp", "without-csp"])
def test_external_and_sibling_resources_are_detected(tmp_path, csp):
    (tmp_path / "sibling.png").write_bytes(b"")
    page = write_page(
        tmp_path,
        '<img src="https://example.com/x.png"><script src="https://example.com/x.js"></script><img src="sibling.png">',
        csp=csp,
    )

    visit = visit_file(page, home=tmp_path / "browser-home")

    # CSP blocks them before they leave the page; without it our route aborts them. Either way
    # they are listed, failed, and reported in the console.
    assert set(visit.requests) == {
        "https://example.com/x.png",
        "https://example.com/x.js",
        (tmp_path / "sibling.png").as_uri(),
    }
    failed = dict(visit.failed_requests)
    assert "https://example.com/x.png" in failed and "https://example.com/x.js" in failed
    assert visit.console_errors
    assert visit.problems


def test_inline_script_under_csp_is_reported_and_does_not_run(tmp_path):
    page = write_page(tmp_path, "<p>before</p><script>document.body.append('SCRIPT RAN')</script>")

    visit = visit_file(page, home=tmp_path / "browser-home")

    csp_errors = [e for e in visit.console_errors if "Content Security Policy" in e and "inline script" in e]
    assert csp_errors, visit.console_errors
    assert "SCRIPT RAN" not in visit.text
    assert visit.requests == []


def test_uncaught_exception_and_console_output_are_recorded(tmp_path):
    page = write_page(
        tmp_path,
        "<script>console.log('hello from the page'); console.error('bad thing'); null.boom;</script>",
        csp=None,
    )

    visit = visit_file(page, home=tmp_path / "browser-home")

    assert ("log", "hello from the page") in visit.console_messages
    assert visit.console_errors == ["bad thing"]
    assert len(visit.page_errors) == 1 and visit.page_errors[0].startswith("TypeError:")
