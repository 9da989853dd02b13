"""The console in a real browser: Playwright driving Debian's Chromium against a real `alertd
run`. Sign in, see a new alert arrive without a reload, acknowledge it from the alert page,
be refused a form without its CSRF token, and every page at a phone's and a desk's width.

Chromium comes from Debian (`apt-get install chromium`; .ci/run installs it), not from
Playwright's own download. Without it these tests are skipped on a developer's machine, and
fail in CI (where `CI` is set), so that a CI run without a browser cannot pass unnoticed.

Screenshots of every page at both widths are saved under test-artifacts/console/ (ignored by
git). With ALERTD_SCREENSHOTS=docs/console the few that docs/console.md shows are written there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ADMIN, REPO, Alertd
from tests.needs import unavailable

from .conftest import PASSWORD, api_alert, critical, post_event, stamped

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("browser")]

CHROMIUM = os.environ.get("ALERTD_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO / "test-artifacts" / "console"
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 800}
WAIT_MS = 15_000

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None  # type: ignore[assignment]


def _unavailable() -> str | None:
    if sync_playwright is None:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    if not Path(CHROMIUM).is_file():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for all the browser tests (they are one xdist group, so they run on one
    worker, one after another); each test opens its own context (cookies, size). Module-scoped,
    not session-scoped: Playwright's sync API keeps an event loop running in this thread while
    it is open, and the async tests that follow on the worker need the thread to themselves."""
    missing = _unavailable()
    if missing is not None:
        unavailable(f"browser tests: {missing}")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield launched
        finally:
            launched.close()


class Tab:
    """A browser context at one size, with every console error and failed page load noted."""

    def __init__(self, browser: Browser, daemon: Alertd, size: dict[str, int], **options: str):
        self.context = browser.new_context(viewport=size, base_url=daemon.url, **options)  # type: ignore[arg-type]
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(WAIT_MS)
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def sign_in(self, name: str = "alice", password: str = PASSWORD) -> None:
        page = self.page
        page.goto("/ui/alerts")
        assert "/ui/signin" in page.url  # signed out: sent to sign in, told where to come back
        page.fill("#name", name)
        page.fill("#password", password)
        page.click("form:has(#password) button[type=submit]")
        page.wait_for_url("**/ui/alerts")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def phone(browser: Browser, console: Alertd) -> Iterator[Tab]:
    tab = Tab(browser, console, PHONE)
    yield tab
    tab.close()


@pytest.fixture
def desk(browser: Browser, console: Alertd) -> Iterator[Tab]:
    tab = Tab(browser, console, DESK)
    yield tab
    tab.close()


def test_a_new_alert_appears_on_the_list_without_a_reload(desk: Tab, console: Alertd) -> None:
    desk.sign_in()
    page = desk.page
    page.wait_for_selector("[data-live-status]:has-text('Live')")  # following the stream
    page.evaluate("window.notReloaded = true")
    alert_id = post_event(console, critical("v-browser-live", driver_id="d-live"))
    row = page.locator(f'li[data-id="{alert_id}"]')
    row.wait_for()
    assert page.evaluate("window.notReloaded") is True
    assert "v-browser-live" in row.inner_text()
    assert "urgent" in row.inner_text()
    assert desk.errors == []


def test_an_alert_is_acknowledged_from_its_page_on_a_phone(phone: Tab, console: Alertd) -> None:
    alert_id = post_event(console, critical("v-browser-ack"))
    phone.sign_in()
    page = phone.page
    page.click(f'li[data-id="{alert_id}"] a')
    page.wait_for_url(f"**/ui/alerts/{alert_id}")
    button = page.locator("button[data-action=ack]")
    box = button.bounding_box()
    assert box is not None
    # In reach of a thumb: along the bottom of the screen, wide (Acknowledge and Resolve share
    # the bar), tall enough.
    resolve = page.locator("button[data-action=resolve]").bounding_box()
    assert resolve is not None and abs(resolve["y"] - box["y"]) < 1  # side by side
    assert box["y"] + box["height"] <= PHONE["height"]
    assert box["y"] >= PHONE["height"] * 0.75
    assert box["width"] >= PHONE["width"] * 0.4 and box["height"] >= 44
    button.click()
    page.wait_for_selector("text=Done: acknowledged.")
    assert page.locator("button[data-action=ack]").count() == 0
    acked = api_alert(console, alert_id)
    assert (acked["status"], acked["acked_by"], acked["acked_via"]) == ("acked", "alice", "web")
    assert phone.errors == []


def test_an_alert_page_shows_a_change_made_elsewhere_without_a_reload(
    desk: Tab, console: Alertd
) -> None:
    alert_id = post_event(console, critical("v-browser-elsewhere"))
    desk.sign_in()
    page = desk.page
    page.goto(f"/ui/alerts/{alert_id}")
    page.wait_for_selector("[data-live-status]:has-text('Live')")
    page.evaluate("window.notReloaded = true")
    acked = httpx.post(
        f"{console.url}/v1/alerts/{alert_id}/ack", json={"by": "dispatcher-7"}, headers=ADMIN
    )
    assert acked.status_code == 200
    page.wait_for_selector("dd:has-text('by dispatcher-7')")
    assert page.locator(".detail .badge.status").inner_text() == "acked"
    assert page.locator("button[data-action=ack]").count() == 0
    assert page.evaluate("window.notReloaded") is True


@pytest.mark.parametrize("size", [PHONE, DESK], ids=["390px", "1280px"])
def test_the_playground_shows_the_failing_comparison_of_an_event_that_does_not_fire(
    browser: Browser, console: Alertd, size: dict[str, int]
) -> None:
    tab = Tab(browser, console, size)
    try:
        tab.sign_in()
        page = tab.page
        page.goto("/ui/rules")
        page.fill("#event", '{"type": "location_update", "vehicle_id": "v-1042", "speed_kmh": 100}')
        page.click("#playground button[type=submit]")
        page.wait_for_selector("#results")
        speeding = page.locator('#results .verdict[data-rule="speeding"]')
        assert speeding.locator(".badge.decision").inner_text() == "no match"
        assert speeding.locator(".failed").inner_text() == "speed_kmh > 120"
        assert "speed_kmh = 100" in speeding.locator(".values").inner_text()
        assert speeding.locator(".where").inner_text().startswith("rules/fleet.rules:")
        # An edited rule, tried on the same event before it is saved anywhere.
        page.fill(
            "#draft", 'rule speeding {\n  when type == "location_update" and speed_kmh > 90\n}'
        )
        page.click("#playground button[type=submit]")
        page.wait_for_selector("#results")
        tried = page.locator("#results .verdicts").first.locator('.verdict[data-rule="speeding"]')
        assert tried.locator(".badge.decision").inner_text() == "fired"
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the playground is wider than {size['width']} px"
        shoot(page, "/ui/rules/playground", size, anchor="#playground,#results")
        assert tab.errors == []
    finally:
        tab.close()


def test_silence_similar_makes_a_silence_that_silences_the_next_matching_event(
    phone: Tab, console: Alertd
) -> None:
    first = post_event(console, stamped("v-browser-silence", 0))
    phone.sign_in()
    page = phone.page
    page.goto(f"/ui/alerts/{first}")
    page.click("[data-silence-similar]")
    page.wait_for_url(f"**/ui/silences/new?alert={first}")
    names = page.locator("input[name=name]")
    values = page.locator("input[name=value]")
    assert [names.nth(i).input_value() for i in range(2)] == ["rule", "vehicle_id"]
    assert [values.nth(i).input_value() for i in range(2)] == [
        "critical_safety_event",
        "v-browser-silence",
    ]
    page.fill("textarea[name=comment]", "towed to the workshop")
    page.click("form.silence-form button[type=submit]")
    page.wait_for_selector("text=Silence made")
    assert page.locator("#silences-active ~ ul li:has-text('towed to the workshop')").count() == 1
    second = post_event(console, stamped("v-browser-silence", 5))
    silenced = api_alert(console, second)
    assert silenced["status"] == "silenced" and silenced["silenced_by"]
    assert [e["action"] for e in silenced["timeline"]] == ["fired", "silenced"]
    assert (silenced["timeline"][1]["by"], silenced["timeline"][1]["via"]) == ("alice", "web")
    page.goto(f"/ui/alerts/{second}")
    page.wait_for_selector(f"dd:has-text('silence {silenced['silenced_by']}')")
    assert page.locator(".detail .badge.status").inner_text() == "silenced"
    assert phone.errors == []


def test_a_form_without_its_csrf_token_is_refused(desk: Tab, console: Alertd) -> None:
    alert_id = post_event(console, critical("v-browser-csrf"))
    desk.sign_in()
    page = desk.page
    page.goto(f"/ui/alerts/{alert_id}")
    page.evaluate("document.querySelector('.actions input[name=csrf]').remove()")
    page.click("button[data-action=ack]")
    page.wait_for_selector("text=not sent from this console")
    assert api_alert(console, alert_id)["status"] == "firing"


def test_the_keyboard_reaches_everything_from_the_top(desk: Tab, console: Alertd) -> None:
    post_event(console, critical("v-browser-keys"))
    desk.sign_in()
    page = desk.page
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    for _ in range(30):  # through the filters to the first alert
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('li.alert') !== null"):
            break
    else:
        raise AssertionError("Tab never reached an alert")
    page.keyboard.press("Enter")
    page.wait_for_url("**/ui/alerts/*")


def test_dark_mode_follows_the_system(browser: Browser, console: Alertd) -> None:
    backgrounds = {}
    for scheme in ("light", "dark"):
        tab = Tab(browser, console, DESK, color_scheme=scheme)
        try:
            tab.page.goto("/ui/signin")
            backgrounds[scheme] = tab.page.evaluate(
                "getComputedStyle(document.body).backgroundColor"
            )
        finally:
            tab.close()
    assert backgrounds["light"] == "rgb(246, 247, 249)"
    assert backgrounds["dark"] == "rgb(15, 18, 22)"


CONTRAST = """selectors => {
  const rgb = text => {
    const parts = text.match(/rgba?\\(([^)]+)\\)/)[1].split(",").map(Number);
    return {r: parts[0], g: parts[1], b: parts[2], a: parts.length > 3 ? parts[3] : 1};
  };
  const channel = v => (v /= 255) <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  const luminance = c => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  const background = element => {
    for (; element; element = element.parentElement) {
      const colour = rgb(getComputedStyle(element).backgroundColor);
      if (colour.a === 1) { return colour; }
    }
    return {r: 255, g: 255, b: 255, a: 1};
  };
  return selectors.map(selector => {
    const element = document.querySelector(selector);
    if (!element) { return [selector, null]; }
    const text = luminance(rgb(getComputedStyle(element).color));
    const [a, b] = [text, luminance(background(element))];
    return [selector, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
  });
}"""
TEXT = {
    "/ui/alerts": [
        ".top nav a", ".who", ".filters label", ".alert .title", ".alert .key", ".alert time",
        ".priority-urgent .badge.priority", ".priority-medium .badge.priority", ".badge.status",
    ],
    "/ui/alerts/{id}": [
        ".detail h1", ".facts dt", ".facts dd a", "button.primary", ".notifications .attempts",
        ".badge.state", ".event", ".similar a", ".similar small",
    ],
    "/ui/silences": [
        "h2 small", ".silence .matchers code", ".silence .comment", ".silence .facts dt",
        ".silence .facts dd", ".silence button",
    ],
    "/ui/silences/new": [".silence-form legend", ".silence-form label", ".hint", "textarea"],
}  # fmt: skip


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_is_readable_in_light_and_dark(browser: Browser, console: Alertd, scheme: str) -> None:
    """WCAG AA: every kind of text has a contrast of at least 4.5 to its background."""
    alert_id = post_event(console, critical("v-contrast"))
    post_event(console, {"type": "location_update", "vehicle_id": "v-c2", "speed_kmh": 150})
    silence(console, "v-contrast-quiet", "checking the contrast")
    tab = Tab(browser, console, DESK, color_scheme=scheme)
    try:
        tab.sign_in()
        for path, selectors in TEXT.items():
            tab.page.goto(path.replace("{id}", alert_id))
            ratios = dict(tab.page.evaluate(CONTRAST, selectors))
            assert None not in ratios.values(), ratios
            assert {s: r for s, r in ratios.items() if r < 4.5} == {}, path
    finally:
        tab.close()


PAGES = [
    "/ui/alerts", "/ui/alerts/{id}", "/ui/silences", "/ui/silences/new?alert={id}", "/ui/oncall",
    "/ui/rules",
]  # fmt: skip
DOCS = {("/ui/alerts", 390): "alerts-390", ("/ui/alerts/{id}", 390): "alert-390"}
DOCS |= {("/ui/alerts", 1280): "alerts-1280", ("/ui/silences", 390): "silences-390"}
DOCS |= {("/ui/silences/new?alert={id}", 390): "silence-new-390"}
DOCS |= {("/ui/rules/playground", 390): "playground-390"}
DOCS |= {("/ui/rules/playground", 1280): "playground-1280"}


@pytest.mark.parametrize("size", [PHONE, DESK], ids=["390px", "1280px"])
def test_every_page_renders_at_a_phone_and_a_desk_width(
    browser: Browser, console: Alertd, size: dict[str, int]
) -> None:
    for vehicle, driver in (("v-1042", "d-77"), ("v-2210", "d-12"), ("v-0831", "d-40")):
        alert_id = post_event(console, critical(vehicle, driver_id=driver))
    httpx.post(
        f"{console.url}/v1/events",
        json={"type": "location_update", "vehicle_id": "v-0907", "speed_kmh": 131},
        headers={"Authorization": "Bearer e2e-ingest-token-0123"},
        timeout=10,
    )
    silence(console, "v-2210", "v-2210 is in the workshop for new brakes")
    tab = Tab(browser, console, size)
    try:
        page = tab.page
        page.goto("/ui/signin")
        shoot(page, "/ui/signin", size)
        tab.sign_in()
        for path in PAGES:
            page.goto(path.replace("{id}", alert_id))
            page.wait_for_selector("main h1")
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} is wider than {size['width']} px"
            shoot(page, path, size)
        assert tab.errors == []  # a script or style the policy blocked would show here
    finally:
        tab.close()


def silence(console: Alertd, vehicle: str, comment: str) -> None:
    """A silence of the vehicle for three hours, made by alice through the API."""
    made = httpx.post(
        f"{console.url}/v1/silences",
        json={
            "matchers": [{"name": "vehicle_id", "value": vehicle}],
            "ends_at": (datetime.now(UTC) + timedelta(hours=3)).isoformat(),
            "created_by": "alice",
            "comment": comment,
        },
        headers=ADMIN,
        timeout=10,
    )
    assert made.status_code == 201, made.text


def shoot(
    page: Page, path: str, size: dict[str, int], *, full_page: bool = True, anchor: str = ""
) -> None:
    """Save a screenshot of the page under test-artifacts/, and under ALERTD_SCREENSHOTS if the
    docs show it (only the elements `anchor` selects, first to last, if given: the part the
    docs are about)."""
    name = re.sub(r"[/?=]", "-", path.strip("/").replace("{id}", "id"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{size['width']}.png"), full_page=True)
    docs = os.environ.get("ALERTD_SCREENSHOTS")
    shown = DOCS.get((path, size["width"]))
    if docs and shown:
        target = REPO / docs / f"{shown}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        clip = None
        if anchor:  # from the top of the first element to the bottom of the last, in the page
            top, bottom = page.evaluate(
                """selectors => {
                  const boxes = selectors.map(
                    s => document.querySelector(s).getBoundingClientRect());
                  return [boxes[0].top + scrollY, boxes[boxes.length - 1].bottom + scrollY];
                }""",
                anchor.split(","),
            )
            clip = {"x": 0, "y": top - 8, "width": size["width"], "height": bottom - top + 16}
        page.screenshot(path=str(target), full_page=full_page or clip is not None, clip=clip)  # type: ignore[arg-type]
