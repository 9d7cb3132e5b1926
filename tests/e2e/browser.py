"""Debian's Chromium driven by Playwright, and what the browser tests measure in a page.

Playwright cannot download its own browsers here: it launches /usr/bin/chromium (installed
by `make test` when root). It refuses a --user-data-dir flag in `launch` and gives every
launch an empty temporary profile of its own, which is what that flag was for.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import ViewportSize

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE: ViewportSize = {"width": 375, "height": 812}
DESK: ViewportSize = {"width": 1280, "height": 800}
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "web"


def chromium_or_skip() -> str:
    found = shutil.which("chromium") or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if not found:
        pytest.fail(
            "Chromium is missing: apt-get update && apt-get install -y chromium "
            "(make test installs it when run as root)"
        )
    return found


async def sign_in(page: Any, staff_no: str, password: str, next_url: str = "/m") -> None:
    """The login form filled and sent; returns once the navigation it starts has loaded.

    `wait_for_load_state()` after the click could return before the POST had even started
    (the login page was loaded already), so under load a test read the login page's h1.
    A wrong password or a throttle also navigates (back to the form), and the caller's next
    check says what it found.
    """
    await page.goto(f"/login?next={next_url}")
    await page.fill("#staff_no", staff_no)
    await page.fill("#password", password)
    async with page.expect_navigation():
        await page.click("button[type=submit]")


async def shot(page: Any, name: str) -> Path:
    """A full-page screenshot under test-output/web/ for a person to look at."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def horizontal_overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than the window (0: no horizontal scroll)."""
    return await page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


async def axe_violations(page: Any, rules: list[str] | None = None) -> list[dict[str, Any]]:
    """axe-core (vendored from npm, served by web) run in the page: serious and critical."""
    if not await page.evaluate("() => typeof window.axe !== 'undefined'"):
        await page.add_script_tag(url="/static/vendor/axe.min.js")
    options = {"runOnly": {"type": "rule", "values": rules}} if rules else {}
    result = await page.evaluate(
        "async (options) => (await axe.run(document, options)).violations.map(v => ({id: v.id,"
        " impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))",
        options,
    )
    return [v for v in result if v["impact"] in ("serious", "critical")]


# Every element with text of its own: its computed font size (px).
SMALL_TEXT = """() => {
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    const box = el.getBoundingClientRect();
    if (!own || box.width === 0 || box.height === 0) continue;
    if (el.closest('.sr-only')) continue;
    const size = parseFloat(style.fontSize);
    if (size < 18) out.push({tag: el.tagName, text: el.textContent.trim().slice(0, 30), size});
  }
  return out;
}"""

# Every control a finger uses: its box (px).
SMALL_TARGETS = """() => {
  const out = [];
  for (const el of document.querySelectorAll('a[href], button, select, textarea, input:not([type=hidden])')) {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (box.width === 0 || style.visibility === 'hidden' || el.closest('.sr-only')) continue;
    let h = box.height;
    if (el.type === 'checkbox' || el.type === 'radio') {
      const label = el.closest('label');
      if (label) h = label.getBoundingClientRect().height;
    }
    if (h < 60) out.push({tag: el.tagName, text: (el.textContent || el.name || '').trim().slice(0, 30), h});
  }
  return out;
}"""
