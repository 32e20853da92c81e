"""The back-office console in a real headless chromium: sign in, open each main screen, check
that what it shows is what the database holds, and save a screenshot of every screen.

Every test runs with a request guard that aborts (and fails the test on) any request leaving the
admin service's origin, and fails on any uncaught JavaScript error.
"""

from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.models import (
    Ad,
    AssignmentHistory,
    AuditLog,
    Customer,
    ManagerAssignment,
    Merchant,
    MerchantClient,
    Offer,
    ProgrammeSetting,
    TagDefinition,
)
from shared.settings import Settings
from tests.browser.conftest import shot
from tests.browser.seed import ADMIN_PASSWORD, STAFF_PASSWORD, City
from tests.fixtures.jobs import drain

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.browser
SM = async_sessionmaker[AsyncSession]


_tokens: dict[str, dict] = {}


async def signed_in(page: Page, console_url: str, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    """Open the console already signed in: tokens from one API sign-in per user are put in
    sessionStorage before the page's scripts run (the sign-in form itself is tested separately)."""
    if username not in _tokens:
        async with httpx.AsyncClient(base_url=console_url) as client:
            resp = await client.post("/v1/auth/login", json={"username": username, "password": password})
            resp.raise_for_status()
            _tokens[username] = resp.json()
    access = _tokens[username]["access_token"]
    await page.add_init_script(
        f"if (!sessionStorage.getItem('tenure.access')) sessionStorage.setItem('tenure.access', '{access}');"
    )
    await page.goto("/console/")
    await page.wait_for_selector("#whoami", state="attached")


async def sign_in(page: Page, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    """Sign in through the form, as a person would."""
    await page.goto("/console/")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("#signin-button")
    await page.wait_for_selector("#whoami", state="attached")


async def open_screen(page: Page, hash_: str, ready: str) -> None:
    """Navigate by hash and wait until `ready` (a selector) is visible and nothing is loading.

    The previous screen is emptied first: `hashchange` fires after this evaluate returns, and
    `ready` must not be matched by the rows of the screen we are leaving.
    """
    await page.evaluate(
        """h => {
            document.querySelector('#main')?.replaceChildren();
            if (window.location.hash === h) window.dispatchEvent(new HashChangeEvent('hashchange'));
            else window.location.hash = h;
        }""",
        hash_,
    )
    await page.wait_for_selector(ready)
    await page.wait_for_function("() => !document.querySelector('#main .loading')")


async def expect_rows(page: Page, n: int) -> None:
    """The table settles on `n` rows (Playwright retries): right after a filter changes, the
    previous screen's rows or an emptied table can still be there for a moment."""
    from playwright.async_api import expect

    await expect(page.locator("table.data tbody tr")).to_have_count(n)


def nav_labels_js() -> str:
    return "() => [...document.querySelectorAll('.nav-item')].map(a => a.textContent.trim())"


async def test_wrong_password_shows_an_error_and_no_session(page: Page, city: City) -> None:
    await page.goto("/console/")
    await page.fill("#username", "admin")
    await page.fill("#password", "not-the-password")
    await page.click("#signin-button")
    error = page.locator("#signin-status .notice.error")
    await error.wait_for()
    assert "wrong username or password" in (await error.inner_text()).lower()
    assert await page.evaluate("() => sessionStorage.getItem('tenure.access')") is None
    assert await page.locator("#whoami").count() == 0
    await shot(page, "01-sign-in-wrong-password")


async def test_sign_in_shows_dashboard_for_admin(page: Page, city: City, console_sm: SM) -> None:
    await sign_in(page)
    assert "后台管理员" in await page.inner_text("#whoami")
    labels = await page.evaluate(nav_labels_js())
    for screen in (
        "Dashboard",
        "Customers",
        "Campaigns",
        "Strategies",
        "Tags",
        "Tiers",
        "Merchants & offers",
        "Churn models",
        "Data imports",
        "Staff & assignments",
        "Audit log",
    ):
        assert any(screen in label for label in labels), (screen, labels)
    await page.wait_for_selector("#dash-tiers h2")
    await page.wait_for_function("() => !document.querySelector('#main .loading')")
    async with console_sm() as s:  # the seeded city, plus anything an import test loaded before
        active = await s.scalar(select(func.count()).select_from(Customer).where(Customer.status != "churned"))
    assert await page.inner_text("#stat-customers .value") == str(active)
    assert await page.locator("#dash-tiers svg rect").count() >= len(city.tier_counts)
    four = await page.inner_text("#dash-fourhigh")
    assert "High pay-per-use data" in four
    assert "Potential customer loss" in await page.inner_text("#dash-segments")
    assert "春季保有行动" in await page.inner_text("#dash-campaigns")
    assert "1 customer left" in await page.inner_text("#churn-total")
    await page.wait_for_selector("#dash-touch-success h2")
    touch = await page.inner_text("#dash-touch-success")
    assert "Offline" in touch and "Online" in touch, touch
    assert "Revenue retention" in await page.inner_text("#dash-revenue-retention h2")
    assert "High" in await page.inner_text("#dash-tiers ul.legend"), "tier bars are split by churn risk"
    high_risk_left = city.risk_counts["high"] - 1  # the churned hold-out customer was high risk
    assert await page.inner_text("#stat-high-risk .value") == str(high_risk_left)
    await shot(page, "02-dashboard")


async def test_auditor_sees_only_what_the_role_allows(page: Page, city: City) -> None:
    await sign_in(page, "auditor", STAFF_PASSWORD)
    labels = [re.sub(r"^\W+", "", label).strip() for label in await page.evaluate(nav_labels_js())]
    assert "Audit log" in labels and "Dashboard" in labels
    for hidden in ("Customers", "Strategies", "Tags", "Churn models", "Four-high lists", "Manager incentives"):
        assert hidden not in labels, labels
    await open_screen(page, "#/customers", ".notice.error")
    assert "not available to the Auditor role" in await page.inner_text("#main")
    await open_screen(page, "#/audit?action=campaign.", "table.data tbody tr")
    actions = await page.locator("table.data tbody tr td:nth-child(5)").all_inner_texts()
    assert actions and all(a.startswith("campaign.") for a in actions), actions
    await shot(page, "20-audit-auditor-filtered")


async def test_operator_launches_but_does_not_design_campaigns(page: Page, console_url: str, city: City) -> None:
    await signed_in(page, console_url, "operator", STAFF_PASSWORD)
    labels = " | ".join(await page.evaluate(nav_labels_js()))
    assert "Merchants & offers" in labels and "Campaigns" in labels
    assert "Strategies" not in labels and "Churn models" not in labels and "Audit log" not in labels
    await open_screen(page, "#/campaigns", "table.data tbody tr")
    assert await page.locator("#new-campaign").count() == 0
    await open_screen(page, f"#/campaigns/{city.draft_campaign_id}", ".card h2")
    assert await page.locator("#launch").count() == 1


async def test_session_survives_reload_and_sign_out_ends_it(page: Page, city: City) -> None:
    await sign_in(page)
    await page.reload()
    await page.wait_for_selector("#whoami", state="attached")
    await page.click("#signout")
    await page.wait_for_selector("#signin-button")
    assert await page.evaluate("() => sessionStorage.getItem('tenure.access')") is None


async def test_expired_access_token_is_refreshed(page: Page, city: City) -> None:
    await sign_in(page)
    await page.evaluate("() => sessionStorage.setItem('tenure.access', 'expired.or.garbage')")
    await open_screen(page, "#/imports", "table.data")
    assert await page.locator("#whoami").count() == 1
    assert await page.evaluate("() => sessionStorage.getItem('tenure.access')") != "expired.or.garbage"


async def test_customers_list_filters_and_masks(page: Page, console_url: str, city: City) -> None:
    await signed_in(page, console_url)
    await open_screen(page, "#/customers", "table.data tbody tr")
    text = await page.inner_text("#main")
    assert "欧**" in text, "masked name of the first customer is listed"
    assert "欧阳锋" not in text, "full names are never listed"
    assert "139****9000" in text and "13900009000" not in text
    await shot(page, "03-customers")
    await open_screen(page, "#/customers?tier=diamond", "table.data tbody tr")
    await expect_rows(page, city.tier_counts["diamond"])
    assert "Diamond" in await page.inner_text("table.data tbody")
    await page.fill("input[name=q]", "9003")
    await page.select_option("select[name=tier]", "")
    await page.click(".filters button[type=submit]")
    await page.wait_for_function("() => location.hash.includes('q=9003')")
    await page.wait_for_selector("table.data tbody tr")
    await page.wait_for_function("() => !document.querySelector('#main .loading')")
    await expect_rows(page, 1)
    assert "139****9003" in await page.inner_text("table.data tbody")


async def test_customer_360_and_audited_unmask(page: Page, console_url: str, city: City, console_sm: SM) -> None:
    await signed_in(page, console_url)
    await open_screen(page, f"#/customers/{city.star_customer}", ".pii-name")
    text = await page.inner_text("#main")
    assert "欧**" in text and "欧阳锋" not in text
    assert "西湖区分公司" in text and "家庭88元套餐" in text and "梅经理" in text
    assert "贵宾客户" in text and "APP推送响应" in text, "tags of the customer"
    assert "Top churn factors" in text and "Competitor-hotline calls, 90 days" in text
    assert "Usage and bill by month" in text and await page.locator("#main svg polyline").count() >= 1
    await shot(page, "04-customer-360")

    async def unmask_rows() -> int:
        async with console_sm() as s:
            return await s.scalar(
                select(func.count())
                .select_from(AuditLog)
                .where(AuditLog.action == "customer.unmask", AuditLog.object_id == str(city.star_customer))
            )

    before = await unmask_rows()
    page.once("dialog", lambda d: d.accept())
    await page.click("#unmask")
    await page.wait_for_function("() => (document.querySelector('.pii-name') || {}).textContent === '欧阳锋'")
    assert await page.inner_text(".pii-phone") == "13900009000"
    assert await unmask_rows() == before + 1, "the unmasked view was written to the audit log"
    await shot(page, "05-customer-360-unmasked")


def pct(value: float) -> str:
    """A share as the console's Intl percent with one decimal (rounding half away from zero)."""
    return f"{(Decimal(str(value)) * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


async def test_campaign_list_and_report(page: Page, console_url: str, city: City) -> None:
    await signed_in(page, console_url)
    await open_screen(page, "#/campaigns", "table.data tbody tr")
    text = await page.inner_text("#main")
    assert "春季保有行动" in text and "金卡客户升档（草稿）" in text
    await shot(page, "06-campaigns")
    await open_screen(page, f"#/campaigns/{city.campaign_id}", ".card h2")
    text = await page.inner_text("#main")
    assert "春季保有行动" in text and "20%" in text
    assert "Contacted" in text and "Hold-out" in text, "member split of the seeded campaign"
    await page.wait_for_selector("#report-stats")
    stats = await page.inner_text("#report-stats")
    assert "8 contacted group · 2 hold-out" in stats
    assert "100.0% vs 50.0%" in stats and "+50.0 pp" in stats, stats
    async with httpx.AsyncClient(base_url=console_url) as client:  # the arms table shows the API's figures
        resp = await client.get(
            f"/v1/reports/campaigns/{city.campaign_id}",
            headers={"Authorization": f"Bearer {_tokens['admin']['access_token']}"},
        )
    summary = resp.raise_for_status().json()["summary"]
    arms = await page.inner_text("#report-arms")
    assert "treated (intent-to-treat)" in arms and "Hold-out" in arms, arms
    for arm in ("treated", "holdout"):
        shown = f"{pct(summary[f'retention_{arm}_ci_low'])} to {pct(summary[f'retention_{arm}_ci_high'])}"
        assert shown in arms, (shown, arms)
    assert pct(summary["retention_holdout"]) in arms
    assert f"{summary['attribution_window_days']} days" in await page.inner_text("#report-attribution")
    codes = await page.locator("#report-warnings li").evaluate_all("els => els.map(e => e.dataset.code)")
    assert codes == [w["code"] for w in summary["warnings"]], codes
    await shot(page, "07-campaign-report")
    async with page.expect_download() as download_info:
        await page.click("#export-csv")
    download = await download_info.value
    assert download.suggested_filename == f"campaign-{city.campaign_id}-report.csv"
    csv_text = Path(await download.path()).read_text(encoding="utf-8-sig")
    assert csv_text.startswith("group_by,") and "retention_uplift" in csv_text.splitlines()[0]


async def test_campaign_create_validate_and_launch(page: Page, console_url: str, city: City, console_sm: SM) -> None:
    await signed_in(page, console_url)
    await open_screen(page, "#/campaigns/new", "form.form")
    await page.click("form.form button[type=submit]")
    assert "required" in await page.inner_text("form.form .field-error >> nth=0")
    await page.fill("#f-name", "Diamond care console test")
    for box in await page.locator(".checks[data-name=tiers] input, .checks[data-name=risk_levels] input").all():
        await box.set_checked(False)
    await page.check(".checks[data-name=tiers] input[value=diamond]")
    await page.fill("#f-holdout_pct", "60")
    await page.click("form.form button[type=submit]")
    assert "between 0 and 50" in await page.inner_text("form.form")
    await page.fill("#f-holdout_pct", "50")
    await page.click("#preview-audience")
    await page.wait_for_selector("#audience-preview .notice")
    assert f"{city.tier_counts['diamond']} customers match" in await page.inner_text("#audience-preview")
    await shot(page, "08-campaign-new")
    await page.click("form.form button[type=submit]")
    await page.wait_for_selector("#launch")
    assert "Diamond care console test" in await page.inner_text("#main")
    page.once("dialog", lambda d: d.accept())
    await page.click("#launch")
    await page.wait_for_selector(".notice.ok")
    assert f"Launched: {city.tier_counts['diamond']} members" in await page.inner_text("#main")
    await shot(page, "08b-campaign-launched")


async def test_strategies_tags_tiers(page: Page, console_url: str, city: City) -> None:
    await signed_in(page, console_url)
    await open_screen(page, "#/strategies", "table.data tbody tr")
    assert city.strategy_name in await page.inner_text("#main")
    await shot(page, "09-strategies")
    await open_screen(page, "#/tags?family=stability", "table.data tbody tr")
    text = await page.inner_text("#main")
    assert city.tag_codes["stability"] in text and city.tag_codes["basic"] not in text
    await page.click(f"button[data-tag={city.tag_codes['stability']}]")
    await page.click("#preview-tag")
    await page.wait_for_selector("#tag-preview .notice")
    assert f"{city.risk_counts['high']} customers match" in await page.inner_text("#tag-preview")
    await page.click("#rule-json-toggle")  # the JSON view: a tree the builder cannot show goes to the server as written
    await page.fill("#f-rule", '{"field": "id_number", "op": "=", "value": "1; DROP TABLE customers"}')
    await page.wait_for_selector("#tag-editor .rb-status .notice.info")
    await page.click("#preview-tag")
    await page.wait_for_selector("#tag-preview .notice.error")
    assert "id_number" in await page.inner_text("#tag-preview")
    await shot(page, "10-tags")
    await open_screen(page, "#/tiers", "table.data tbody tr")
    text = await page.inner_text("#main")
    assert "Diamond" in text and "¥400.00" in text
    await page.click("button[data-tier=gold]")
    await page.fill("#f-min_avg_bill_yuan", "250")
    await page.click("#tier-editor button[type=submit]")
    await page.wait_for_selector(".notice.ok")
    assert "¥250.00" in await page.inner_text("#main")
    await shot(page, "11-tiers")


async def test_tag_rule_builder_groups_live_count_and_json(
    page: Page, console_url: str, city: City, console_sm: SM
) -> None:
    """Build "gold or diamond, and none of: competitor-hotline calls ≥ 1" with pickers; the live count
    is the database's, the JSON view shows the same tree, and saving stores exactly that tree."""
    expected_rule = {
        "all": [
            {"field": "tier", "op": "in", "value": ["gold", "diamond"]},
            {"not": {"any": [{"field": "competitor_calls_90d", "op": ">=", "value": 1}]}},
        ]
    }
    async with console_sm() as s:
        expected = await s.scalar(
            text(
                "SELECT count(*) FROM customer_features f JOIN customers c ON c.id = f.customer_id "
                "WHERE c.tier IN ('gold', 'diamond') AND NOT (f.competitor_calls_90d >= 1)"
            )
        )
    assert 0 < expected < len(city.customers)
    await signed_in(page, console_url)
    await open_screen(page, "#/tags", "table.data tbody tr")
    await page.click("#new-tag")
    await page.wait_for_selector("#rule-builder .rb-cond")
    await page.fill("#f-code", "console_builder_tag")
    await page.fill("#f-name", "Built with pickers")
    top = page.locator("#rule-builder > .rb-group")
    await (
        top.locator(":scope > .rb-items > .rb-cond").first.locator(".rb-remove").click()
    )  # drop the example's data condition
    await top.locator(":scope > .rb-head .rb-add-group").click()
    nested = top.locator(":scope > .rb-items > .rb-group")
    await nested.locator(".rb-mode").select_option("none")
    await nested.locator(".rb-add-cond").click()
    await nested.locator(".rb-field").select_option("competitor_calls_90d")
    await nested.locator(".rb-op").select_option(">=")
    await nested.locator(".rb-number").fill("1")
    await page.wait_for_function(
        "n => ((document.querySelector('#rule-live .notice') || {}).textContent || '').includes(n + ' customer')",
        arg=str(expected),
    )
    assert json.loads(await page.input_value("#f-rule")) == expected_rule
    await shot(page, "10b-tag-rule-builder")
    await page.click("#tag-editor form.form button[type=submit]")
    await page.wait_for_selector("#tag-editor .notice.ok")
    async with console_sm() as s:
        stored = await s.scalar(select(TagDefinition.rule).where(TagDefinition.code == "console_builder_tag"))
    assert stored == expected_rule


async def test_merchants_and_offers_approval(page: Page, console_url: str, city: City, console_sm: SM) -> None:
    await signed_in(page, console_url)
    await open_screen(page, "#/merchants", "table.data tbody tr")
    text = await page.inner_text("#main")
    assert "湖畔茶馆" in text and "金面馆" in text
    await shot(page, "12-merchants")
    await page.click(f"button[data-action=approve][data-id='{city.merchant_applied}']")
    await page.wait_for_selector(f"button[data-action=suspend][data-id='{city.merchant_applied}']")
    async with console_sm() as s:
        merchant = await s.get(Merchant, city.merchant_applied)
        assert merchant.status == "approved"
    page.once("dialog", lambda d: d.accept())
    await page.click(f"button[data-action=credentials][data-id='{city.merchant_applied}']")
    await page.wait_for_selector("#client-secret")
    secret = await page.inner_text("#client-secret")
    assert len(secret) >= 20
    await shot(page, "12b-merchant-credentials")
    async with console_sm() as s:
        stored = (
            await s.scalars(
                select(MerchantClient.secret_hash).where(MerchantClient.merchant_id == city.merchant_applied)
            )
        ).all()
    assert len(stored) == 1 and secret not in stored[0], "only a hash of the secret is stored"
    await open_screen(page, "#/merchants?tab=offers", "table.data tbody tr")
    assert "免费面一碗" in await page.inner_text("#main")
    assert "金面馆" in await page.inner_text("table.data tbody")
    await shot(page, "13-offers")
    await page.click(f"button[data-action=approve][data-id='{city.offer_pending}']")
    await page.wait_for_function('() => !document.querySelector("button[data-action=approve]")')
    await open_screen(page, "#/merchants?tab=ads&status=pending", "table.data tbody tr")
    assert "周二面馆" in await page.inner_text("#main")
    await shot(page, "13b-merchant-ads")
    await page.click(f"button[data-action=approve][data-id='{city.ad_pending}']")
    await page.wait_for_selector("table.data tr.empty")
    async with console_sm() as s:
        offer = await s.get(Offer, city.offer_pending)
        assert offer.status == "approved"
        assert (await s.get(Ad, city.ad_pending)).status == "approved"
        kinds = ("merchant", "offer", "ad")
        actions = set((await s.scalars(select(AuditLog.action).where(AuditLog.object_kind.in_(kinds)))).all())
    assert {"alliance.merchant.approve", "alliance.offer.approve", "ad.approve"} <= actions


async def test_models_imports_audit(page: Page, console_url: str, city: City) -> None:
    await signed_in(page, console_url)
    await open_screen(page, "#/models", "table.data tbody tr")
    text = await page.inner_text("#main")
    assert "v2" in text and "0.836" in text
    await shot(page, "14-models")
    await open_screen(page, f"#/imports/{city.import_job_id}", ".progress")
    text = await page.inner_text("#main")
    assert "not a mobile number" in text and "17" in text
    await shot(page, "15-import-job")
    await open_screen(page, "#/audit", "table.data tbody tr")
    text = await page.inner_text("#main")
    assert "campaign.create" in text and "tier_rule.update" in text
    await shot(page, "16-audit")


async def test_import_upload_shows_progress_and_bad_rows(
    page: Page, console_url: str, city: City, console_settings: Settings
) -> None:
    csv_text = (
        "subscriber_id,msisdn,name,join_date,status\n"
        "880001,13800880001,测试一,2019-03-01,active\n"
        "880002,12345,测试二,2019-03-01,active\n"
        "880003,13800880003,测试三,2020-07-15,active\n"
    )
    await signed_in(page, console_url)
    await open_screen(page, "#/imports", "form.form")
    await page.select_option("#f-kind", "subscribers")
    upload = {"name": "console-upload.csv", "mimeType": "text/csv", "buffer": csv_text.encode()}
    await page.set_input_files("#f-file", files=[upload])
    await page.click("form.form button[type=submit]")
    await page.wait_for_selector(".progress")
    await drain(console_settings)  # the upload waits for the job worker; run it here
    finished = "() => /\\d{4}/.test((document.querySelector('#import-finished') || {}).textContent || '')"
    await page.wait_for_function(finished, timeout=30_000)
    text = await page.inner_text("#main")
    assert "Bad rows (1)" in text, text
    assert "console-upload.csv" in text
    bad = await page.inner_text("table.data tbody")
    assert "3" in bad and "msisdn" in bad
    quality = await page.inner_text("#import-quality")  # the load's data-quality report
    assert "Data-quality report" in quality and "msisdn" in quality, quality
    assert "Invalid msisdn" in await page.inner_text("#import-quality [data-quality=reasons]")
    await shot(page, "17-import-upload")
    await page.click("a[href^='#/jobs/']")  # the queue job that loaded it shows the same report
    await page.wait_for_selector("#job-progress")
    await page.wait_for_selector("#import-quality")
    assert "Data import" in await page.inner_text("#main")


async def test_staff_org_and_assignment_move_keeps_reason(
    page: Page,
    console_url: str,
    city: City,
    console_sm: SM,
) -> None:
    await signed_in(page, console_url)
    await open_screen(page, "#/staff?tab=staff", "table.data tbody tr")
    text = await page.inner_text("#main")
    assert "mgr0001" in text and "梅经理" in text and "5 / 400" in text
    await shot(page, "18-staff")
    await open_screen(page, "#/staff?tab=org", "table.data tbody tr")
    assert city.branch_name in await page.inner_text("#main")
    await open_screen(page, f"#/staff?tab=assignments&manager_id={city.manager_a}", "table.data tbody tr")
    await expect_rows(page, 5)
    moved = city.customers[0]
    await page.fill("#f-customer_ids", str(moved))
    await page.select_option("#f-to_manager_id", str(city.manager_b))
    await page.fill("#f-reason", "customer asked for a new manager")
    await page.click("form.form button[type=submit]")
    await page.wait_for_selector(".notice.ok")
    assert "Moved 1" in await page.inner_text(".notice.ok")
    await shot(page, "19-assignments")
    async with console_sm() as s:
        assert (await s.get(ManagerAssignment, moved)).manager_id == city.manager_b
        reasons = (
            await s.scalars(select(AssignmentHistory.reason).where(AssignmentHistory.customer_id == moved))
        ).all()
    assert "customer asked for a new manager" in reasons
    await open_screen(page, f"#/staff?tab=history&customer_id={moved}", "table.data tbody tr")
    assert "customer asked for a new manager" in await page.inner_text("#main")


async def test_capacity_screen_raises_a_capacity_and_moves_unassigned_high_value(
    page: Page, console_url: str, city: City, console_sm: SM
) -> None:
    """Issue 14 item 10: per branch the high-value customers without a manager; an admin raises a
    manager's capacity in place and moves ticked customers to them (reason in the history); an
    operator may move but not edit a capacity (PATCH /v1/staff is staff.write)."""
    from shared.backoffice import capacity
    from shared.models import StaffUser

    async with console_sm() as s:
        (row,) = [r for r in await capacity.by_branch(s) if r.branch_name == city.branch_name]
        waiting = [u.customer_id for u in await capacity.unassigned(s, branch_id=row.branch_id, limit=100)]
        before_capacity = (await s.get(StaffUser, city.manager_b)).capacity  # type: ignore[union-attr]
    assert row.unassigned == len(waiting) > 0
    await signed_in(page, console_url)
    await open_screen(page, "#/capacity", f"#capacity-branches a[data-branch='{row.branch_id}']")
    branch_row = page.locator("#capacity-branches tbody tr", has=page.locator(f"a[data-branch='{row.branch_id}']"))
    cells = await branch_row.locator("td").all_inner_texts()
    assert cells[0] == city.branch_name and cells[1:4] == [str(row.high_value), str(row.assigned), str(row.unassigned)]
    await shot(page, "21-capacity")
    await page.click(f"a[data-branch='{row.branch_id}']")
    await page.wait_for_selector(f"#capacity-managers input[data-manager='{city.manager_b}']")
    await page.wait_for_selector("#capacity-customers input[name=pick]")
    assert city.branch_name in await page.inner_text("h1")
    assert await page.locator("#capacity-customers input[name=pick]").count() == len(waiting)

    box = page.locator(f"#capacity-managers input[data-manager='{city.manager_b}']")
    await box.fill(str(before_capacity + 50))
    async with page.expect_response(lambda r: r.request.method == "PATCH" and "/v1/staff/" in r.url) as saved:
        await page.click(f"#capacity-managers button[data-save-capacity='{city.manager_b}']")
    assert (await saved.value).status == 200
    await page.wait_for_selector("#capacity-status .notice.ok")
    assert str(before_capacity + 50) in await page.inner_text("#capacity-status")
    moved = waiting[0]
    await page.check(f"#capacity-customers input[data-customer='{moved}']")
    await page.select_option("#capacity-move select[name=to_manager_id]", str(city.manager_b))
    await page.fill("#capacity-move input[name=reason]", "new high-value customer")
    async with page.expect_response(
        lambda r: r.request.method == "POST" and "/v1/assignments/move" in r.url
    ) as moved_resp:
        await page.click("#capacity-move-button")
    assert (await moved_resp.value).status == 200
    await page.wait_for_selector("#capacity-status .notice.ok")
    assert "Moved 1" in await page.inner_text("#capacity-status")
    await page.wait_for_function(
        f"() => !document.querySelector(\"#capacity-customers input[data-customer='{moved}']\")"
    )
    await shot(page, "22-capacity-branch")
    try:
        async with console_sm() as s:
            assert (await s.get(StaffUser, city.manager_b)).capacity == before_capacity + 50  # type: ignore[union-attr]
            assert (await s.get(ManagerAssignment, moved)).manager_id == city.manager_b  # type: ignore[union-attr]
            reasons = (
                await s.scalars(select(AssignmentHistory.reason).where(AssignmentHistory.customer_id == moved))
            ).all()
            assert "new high-value customer" in reasons
            assert (await capacity.by_branch(s, branch=row.branch_id))[0].unassigned == row.unassigned - 1

        operator = await page.context.new_page()
        await signed_in(operator, console_url, "operator", STAFF_PASSWORD)
        await open_screen(operator, f"#/capacity/{row.branch_id}", "#capacity-customers input[name=pick]")
        await operator.wait_for_selector("#capacity-managers tbody tr")
        assert await operator.locator("#capacity-managers input[name=capacity]").count() == 0
        assert await operator.locator("#capacity-move-button").count() == 1
        await operator.close()
    finally:
        async with console_sm.begin() as s:  # the seeded city again for the other tests
            await s.execute(delete(ManagerAssignment).where(ManagerAssignment.customer_id == moved))
            await s.execute(delete(AssignmentHistory).where(AssignmentHistory.customer_id == moved))
            await s.execute(
                text("UPDATE staff_users SET capacity = :c WHERE id = :id"),
                {"c": before_capacity, "id": city.manager_b},
            )


async def test_operator_edits_an_sms_template(page: Page, console_url: str, city: City, console_sm: SM) -> None:
    await signed_in(page, console_url)
    await open_screen(page, "#/programme", "[data-rule=sms_templates]")
    box = "[data-rule=sms_templates]"
    assert "Placeholders" not in await page.inner_text(box)  # the summary shows the texts, not the form
    await page.click("button[data-edit=sms_templates]")
    await page.fill("#f-otp", "验证码{code}，{balance}")  # a placeholder the sign-in text may not use
    await page.click(f"{box} button[type=submit]")
    await page.wait_for_selector(f"{box} .notice.error")
    assert "balance" in await page.inner_text(f"{box} form")
    await page.fill("#f-otp", "验证码{code}，{minutes}分钟内有效。")
    await page.click(f"{box} button[type=submit]")
    await page.wait_for_selector(".notice.ok")
    assert "验证码{code}，{minutes}分钟内有效。" in await page.inner_text("[data-rule=sms_templates]")
    async with console_sm.begin() as s:
        stored = await s.scalar(select(ProgrammeSetting.value).where(ProgrammeSetting.key == "sms_templates"))
        assert stored["otp"] == "验证码{code}，{minutes}分钟内有效。"
        await s.execute(delete(ProgrammeSetting).where(ProgrammeSetting.key == "sms_templates"))  # the defaults again


async def test_jobs_screen_retries_a_failed_job_and_edits_a_schedule(
    page: Page, console_url: str, console_sm: SM, console_settings: Settings
) -> None:
    from shared.db.transactions import own_transaction
    from shared.jobs import queue

    async with own_transaction(console_sm) as s:  # a month that cannot be parsed fails for good
        job_id = await queue.defer(s, queue.Task.POINTS_ACCRUE, {"month": "2026-13"})
    await drain(console_settings)
    await signed_in(page, console_url)
    await open_screen(page, "#/jobs?status=failed&task=points.accrue", f"button[data-retry='{job_id}']")
    row = page.locator("table.data tbody tr", has=page.locator(f"button[data-retry='{job_id}']"))
    shown = await row.inner_text()
    assert "Points accrual" in shown and "Failed" in shown and "month must be" in shown, shown
    assert await row.locator(".progress").count() == 1
    await shot(page, "20-jobs", check_layout=False)
    await page.click(f"button[data-retry='{job_id}']")
    await page.wait_for_selector("#jobs-status .notice.ok")
    assert f"Job #{job_id} is queued again" in await page.inner_text("#jobs-status")
    await page.wait_for_function(f"() => !document.querySelector(\"button[data-retry='{job_id}']\")")
    async with console_sm() as s:
        status = await s.scalar(text("SELECT status::text FROM procrastinate_jobs WHERE id = :id"), {"id": job_id})
    assert status == "todo"

    name = "jobs.purge"
    cron = page.locator(f"#schedules input[name=cron][data-schedule='{name}']")
    before = await cron.input_value()
    await cron.fill("every night")
    await page.click(f"#schedules button[data-save='{name}']")
    await page.wait_for_selector("#schedule-status .notice.error")
    assert "cron must have five fields" in await page.inner_text("#schedule-status")
    await cron.fill("7 4 * * *")
    await page.uncheck(f"#schedules input[name=enabled][data-schedule='{name}']")
    await page.click(f"#schedules button[data-save='{name}']")
    await page.wait_for_selector("#schedules .notice.ok")
    saved = page.locator("#schedules tr", has=page.locator(f"input[data-schedule='{name}']"))
    assert "Paused" in await saved.inner_text()
    assert await page.locator(f"#schedules input[name=cron][data-schedule='{name}']").input_value() == "7 4 * * *"
    async with console_sm() as s:
        row_ = (await s.execute(text("SELECT cron, enabled FROM job_schedules WHERE name = :n"), {"n": name})).one()
        assert tuple(row_) == ("7 4 * * *", False)
        await s.execute(
            text("UPDATE job_schedules SET cron = :c, enabled = true WHERE name = :n"), {"c": before, "n": name}
        )
        await s.commit()
