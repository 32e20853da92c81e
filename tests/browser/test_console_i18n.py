"""Every console screen in both languages at a desktop and a phone width (issue 16).

For zh-CN and en at 1280 px and 390 px, an administrator opens every screen (lists, details,
forms and tabs); on each one no message key may be missing from the catalogue
(window.__i18n.missing stays empty), nothing may push the page wider than the window
(document.documentElement.scrollWidth <= the width), and a screenshot is saved under
tests/artifacts/screenshots/i18n/. The language choice is remembered per user.
"""

from __future__ import annotations

import re
import shutil
from typing import TYPE_CHECKING

import pytest

from tests.browser.conftest import SCREENSHOTS, console_page
from tests.browser.seed import ADMIN_PASSWORD, STAFF_PASSWORD, City
from tests.browser.test_console import open_screen, sign_in, signed_in

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

pytestmark = pytest.mark.browser
SHOTS = SCREENSHOTS / "i18n"


@pytest.fixture(scope="module", autouse=True)
def fresh_screenshots() -> None:
    """This run's screenshots only (a renamed screen must not leave an old picture behind)."""
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True, exist_ok=True)


def screens(city: City) -> list[tuple[str, str, str]]:
    """(name, hash, selector that shows the screen has drawn); "hash | button" clicks the button
    (an editor that opens in place) and waits for the selector."""
    return [
        ("dashboard", "#/dashboard", "#dash-tiers h2"),
        ("customers", "#/customers", "table.data tbody tr"),
        ("customer-360", f"#/customers/{city.star_customer}", ".pii-name"),
        ("fourhigh-month", "#/fourhigh", "table.data tbody tr"),
        ("fourhigh-day", "#/fourhigh?g=day", "table.data tbody tr"),
        ("clusters", "#/clusters", ".card.cluster"),
        ("tags", "#/tags?family=stability", "table.data tbody tr"),
        (
            "tag-editor",
            f"#/tags?family=stability | button[data-tag={city.tag_codes['stability']}]",
            "#rule-builder .rb-cond",
        ),
        ("tiers", "#/tiers", "table.data tbody tr"),
        ("models", "#/models", "table.data tbody tr"),
        ("campaigns", "#/campaigns", "table.data tbody tr"),
        ("campaign-new", "#/campaigns/new", "form.form"),
        ("campaign-report", f"#/campaigns/{city.campaign_id}", "#report-stats"),
        ("strategies", "#/strategies", "table.data tbody tr"),
        ("strategy-editor", "#/strategies | button[data-strategy]", "#cond-rule-builder"),
        ("products", "#/products", "table.data tbody tr"),
        ("product", f"#/products/{city.plan_id}", "#edit-product"),
        ("product-new", "#/products/new", "form.form"),
        ("programme", "#/programme", "[data-rule=checkin_rules]"),
        ("merchants", "#/merchants", "table.data tbody tr"),
        ("merchant", f"#/merchants/{city.merchant_approved}", "#prepaid-balance"),
        ("offers", "#/merchants?tab=offers", "table.data tbody tr"),
        ("merchant-ads", "#/merchants?tab=ads", "table.data tbody tr"),
        ("packs", "#/merchants?tab=packs", "table.data"),
        ("settlement", "#/settlement", "table.data tbody tr"),
        ("statement", f"#/settlement/{city.statement_id}", "#ledger-check"),
        ("reports-touches", "#/reports", "table.data tbody tr"),
        ("reports-campaigns", "#/reports?tab=campaigns", "table.data tbody tr"),
        ("reports-fourhigh", "#/reports?tab=fourhigh", "table.data tbody tr"),
        ("reports-models", "#/reports?tab=models", "table.data tbody tr"),
        ("kpis", "#/kpis", "#kpi-trend h2"),
        ("incentives", f"#/incentives?month={city.incentive_month}", "table.data tbody tr"),
        ("engine", "#/engine", "table.data tbody tr"),
        ("engine-run", f"#/engine/{city.engine_run_id}", "#run-progress"),
        ("engine-settings", "#/engine?tab=settings", "[data-setting=care] form"),
        ("holidays", "#/engine?tab=holidays", "table.data tbody tr"),
        ("imports", "#/imports", "form.form"),
        ("import-job", f"#/imports/{city.import_job_id}", ".progress"),
        ("staff", "#/staff?tab=staff", "table.data tbody tr"),
        ("org", "#/staff?tab=org", "table.data tbody tr"),
        ("assignments", "#/staff?tab=assignments", "table.data tbody tr"),
        ("audit", "#/audit", "table.data tbody tr"),
    ]


async def check(page: Page, name: str, width: int) -> None:
    """No missing key so far, no horizontal overflow, and a screenshot."""
    missing = await page.evaluate("() => [...window.__i18n.missing]")
    assert missing == [], f"{name}: messages missing from the catalogue: {missing}"
    scroll = await page.evaluate("() => document.documentElement.scrollWidth")
    if scroll > width:
        culprit = await page.evaluate(
            """w => [...document.querySelectorAll('#app *')].filter(e => e.getBoundingClientRect().right > w + 1)
                    .slice(0, 3).map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 40))""",
            width,
        )
        raise AssertionError(f"{name}: the page is {scroll}px wide at {width}px: {culprit}")
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=width < 1000)


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
@pytest.mark.parametrize("width", [1280, 390])
async def test_every_screen_in_both_languages_and_widths(
    browser: Browser,
    console_url: str,
    city: City,
    request: pytest.FixtureRequest,
    lang: str,
    width: int,
) -> None:
    async with console_page(
        browser, console_url, request, lang=lang, width=width, height=900 if width > 1000 else 844
    ) as page:
        await page.goto("/console/")
        await page.wait_for_selector("#signin-button")
        assert await page.evaluate("() => document.documentElement.lang") == lang
        await check(page, f"{lang}-{width}-00-sign-in", width)
        await signed_in(page, console_url)
        nav = (
            await page.inner_text("#nav")
            if width > 1000
            else await page.evaluate("() => document.querySelector('#nav').textContent")
        )
        assert ("四高客户清单" if lang == "zh-CN" else "Four-high lists") in nav
        for n, (name, target, ready) in enumerate(screens(city), start=1):
            hash_, _, button = target.partition(" | ")
            if button:
                await open_screen(page, hash_, "table.data tbody tr")
                await page.click(button)
                await page.wait_for_selector(ready)
                await page.wait_for_function("() => !document.querySelector('#main .loading')")
            else:
                await open_screen(page, hash_, ready)
            await check(page, f"{lang}-{width}-{n:02d}-{name}", width)
        if lang == "zh-CN":  # enum labels and formats in Chinese
            await open_screen(page, "#/customers?tier=diamond", "table.data tbody tr")
            assert "钻石" in await page.inner_text("#main")
            await open_screen(page, "#/kpis", "#kpi-trend h2")
            text = await page.inner_text("#main")
            assert "月客户例行关怀计划完成情况" in text and "中高端客户满意度" in text
            assert re.search(r"\d{4}年\d{1,2}月", text), "months are written 2026年11月"
            await open_screen(page, "#/tiers", "table.data tbody tr")
            assert "¥400.00" in await page.inner_text("#main")


async def test_phone_menu_opens_and_closes(browser: Browser, console_url: str, city: City) -> None:
    async with console_page(browser, console_url, lang="zh-CN", width=390, height=844) as page:
        await signed_in(page, console_url)
        assert not await page.is_visible("#nav"), "the menu hides behind its button on a phone"
        await page.click("#menu-toggle")
        await page.wait_for_selector("#nav", state="visible")
        await page.click("#nav a[data-screen=clusters]")
        await page.wait_for_selector(".card.cluster")
        assert not await page.is_visible("#nav"), "choosing a screen closes the menu"


async def test_branch_head_reads_reports_and_kpis_on_a_phone(browser: Browser, console_url: str, city: City) -> None:
    """County-branch heads read reports on phones: their menu is what the API lets them read."""
    async with console_page(browser, console_url, lang="zh-CN", width=390, height=844) as page:
        await signed_in(page, console_url, "head99", STAFF_PASSWORD)
        nav = await page.evaluate("() => document.querySelector('#nav').textContent")
        assert "跟踪报表" in nav and "客户经理考核" in nav and "客户" in nav
        assert "四高客户清单" not in nav and "审计日志" not in nav and "客户经理激励" not in nav
        for name, hash_, ready in (
            ("reports", "#/reports", "table.data"),
            ("kpis", "#/kpis", "#kpi-trend h2"),
            ("campaigns", "#/campaigns", "table.data tbody tr"),
        ):
            await open_screen(page, hash_, ready)
            assert await page.locator("#main .notice.error").count() == 0, await page.inner_text("#main")
            await check(page, f"branch-head-390-{name}", 390)


async def test_language_is_chinese_first_and_remembered_per_user(
    browser: Browser, console_url: str, city: City
) -> None:
    async with console_page(browser, console_url, lang=None) as page:
        await page.goto("/console/")
        await page.wait_for_selector("#signin-button")
        assert await page.inner_text("#signin-button") == "登录", "a new user gets Chinese"
        await sign_in(page)
        assert "总览看板" in await page.inner_text("#nav")
        await page.select_option("#lang", "en")
        await page.wait_for_function("() => document.documentElement.lang === 'en'")
        await page.wait_for_selector("#nav >> text=Dashboard")
        assert await page.evaluate("() => localStorage.getItem('tenure.lang:admin')") == "en"
        await page.reload()
        await page.wait_for_selector("#nav >> text=Dashboard")
        await page.click("#signout")
        await page.wait_for_selector("#signin-button")
        assert await page.inner_text("#signin-button") == "Sign in", "the sign-in page keeps this device's choice"
        await sign_in(page, "analyst", STAFF_PASSWORD)
        await page.wait_for_selector("#nav >> text=Dashboard")
        await page.select_option("#lang", "zh-CN")
        await page.wait_for_selector("#nav >> text=总览看板")
        await page.click("#signout")
        await page.wait_for_selector("#signin-button")
        await sign_in(page, "admin", ADMIN_PASSWORD)
        await page.wait_for_selector("#nav >> text=Dashboard")  # admin's own choice, not the analyst's
        assert await page.evaluate("() => document.documentElement.lang") == "en"


async def test_readme_screenshots(browser: Browser, console_url: str, city: City) -> None:
    """The two pictures in the README (docs/screenshots/), window-sized: copy them from
    tests/artifacts/screenshots/readme/ after a change to the console's look."""
    out = SCREENSHOTS / "readme"
    out.mkdir(parents=True, exist_ok=True)
    for name, width, height, hash_, ready in (
        ("console-zh-CN-desktop", 1280, 800, "#/dashboard", "#dash-campaigns h2"),
        ("console-zh-CN-phone", 390, 844, "#/fourhigh", "table.data tbody tr"),
    ):
        async with console_page(browser, console_url, lang="zh-CN", width=width, height=height) as page:
            await signed_in(page, console_url)
            await open_screen(page, hash_, ready)
            await page.screenshot(path=str(out / f"{name}.png"))
