"""What a subscriber reads by SMS is Chinese, signed with the operator's signature, and the back
office can change each template (only with the placeholders it may use)."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import httpx
from sqlalchemy import delete, text

from admin_app.routers.engagement import SmsTemplates
from customer_app.app import create_app as create_customer_app
from shared import clock
from shared.campaigns import service as campaigns
from shared.campaigns.query import AudienceQuery
from shared.models import ProgrammeSetting
from shared.notify import templates as sms_templates
from shared.notify.outbound import DevGateway
from shared.programme import settings as programme_settings
from tests.fixtures.apps import otp_in
from tests.fixtures.factories import create_branch, create_customer, create_staff
from tests.fixtures.factories_backoffice import bulk_customers, create_strategy

CJK = re.compile(r"[\u4e00-\u9fff]")
RULE = "/v1/programme/rules/sms_templates"


async def _reset(sm) -> None:
    async with sm.begin() as s:
        await s.execute(delete(ProgrammeSetting).where(ProgrammeSetting.key == programme_settings.SMS_TEMPLATES))


async def _code_sms(customer_client, customer_app, phone: str) -> str:
    assert (await customer_client.post("/v1/auth/otp", json={"phone": phone})).status_code == 202
    return customer_app.state.sms_sender.last_to(phone)


async def test_the_sign_in_sms_is_chinese_and_signed(customer_client, customer_app, sm) -> None:
    await _reset(sm)
    async with sm.begin() as s:
        c = await create_customer(s)
    sms = await _code_sms(customer_client, customer_app, c.phone)
    code = otp_in(sms)
    assert sms == f"【Tenure】您的登录验证码为{code}，5分钟内有效，请勿告诉他人。"
    ok = await customer_client.post("/v1/auth/login", json={"phone": c.phone, "code": code})
    assert ok.status_code == 200, ok.text


async def test_the_signature_is_a_setting(settings, sm) -> None:
    await _reset(sm)
    async with sm.begin() as s:
        c = await create_customer(s)
    app = create_customer_app(settings.model_copy(update={"sms_signature": "【某某移动】", "otp_ttl_s": 600}))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("203.0.113.200", 1)), base_url="http://test"
        ) as client:
            sms = await _code_sms(client, app, c.phone)
    assert sms.startswith("【某某移动】您的登录验证码为") and "10分钟内有效" in sms


async def test_an_operator_changes_the_sign_in_text(admin_client, customer_client, customer_app, sm, tokens) -> None:
    await _reset(sm)
    async with sm.begin() as s:
        op = await create_staff(s, role="operator")
        c = await create_customer(s)
    h = tokens.admin(op.id, "operator")
    published = (await admin_client.get(RULE, headers=h)).json()
    assert published == sms_templates.DEFAULTS
    assert (await admin_client.get("/v1/programme/rules", headers=h)).json()["sms_templates"] == published
    changed = {**published, "otp": "验证码{code}，{minutes}分钟内有效。客服不会向您索要验证码。"}
    r = await admin_client.put(RULE, headers=h, json=changed)
    assert r.status_code == 200 and r.json() == changed, r.text
    sms = await _code_sms(customer_client, customer_app, c.phone)
    assert sms == f"【Tenure】验证码{otp_in(sms)}，5分钟内有效。客服不会向您索要验证码。"
    async with sm() as s:
        audited = await s.scalar(
            text(
                "SELECT count(*) FROM audit_log WHERE action = 'programme.rule.update' AND object_id = 'sms_templates'"
            )
        )
    assert audited == 1
    await _reset(sm)


async def test_a_template_with_a_placeholder_it_may_not_use_is_refused(admin_client, sm, tokens) -> None:
    await _reset(sm)
    async with sm.begin() as s:
        op = await create_staff(s, role="operator")
    h = tokens.admin(op.id, "operator")
    base = dict(sms_templates.DEFAULTS)
    refused = [
        ({**base, "otp": "验证码{code}，您的余额{balance}"}, "otp"),  # unknown placeholder
        ({**base, "otp": "请登录"}, "otp"),  # the code is required
        ({**base, "campaign_offer": "优惠来了，回复TD退订"}, "campaign_offer"),  # so is the offer's text
        ({**base, "otp": "验证码{code.__class__}"}, "otp"),  # only plain {name}
        ({**base, "refusal_confirmation": "{}天内不再打扰"}, "refusal_confirmation"),
        ({**base, "otp": "验证码{code"}, "otp"),  # unbalanced brace
        ({**base, "otp": "x" * 301 + "{code}"}, "otp"),
    ]
    for body, field in refused:
        r = await admin_client.put(RULE, headers={**h, "Accept-Language": "en"}, json=body)
        assert r.status_code == 422, r.text
        assert r.json()["detail"] == "invalid rule" and r.json()["context"]["errors"][0]["loc"] == [field], r.text
    missing = {k: v for k, v in base.items() if k != "rebate_instalment"}
    assert (await admin_client.put(RULE, headers=h, json=missing)).status_code == 422
    assert (await admin_client.put(RULE, headers=h, json={**base, "welcome": "欢迎"})).status_code == 422
    assert (await admin_client.get(RULE, headers=h)).json() == sms_templates.DEFAULTS  # nothing was published


async def test_campaign_sms_are_signed_and_calls_get_the_script(sm) -> None:
    await _reset(sm)
    today = clock.today()
    async with sm.begin() as s:
        branch = await create_branch(s)
        await bulk_customers(s, 5, branch_id=branch.id)
        sid = await create_strategy(s, script="您好，您的专属流量包已到，月费立减10元。")
        ids = {}
        for channel in ("sms", "outbound_call"):
            c = await campaigns.create_campaign(
                s,
                name=f"lang-{channel}-{secrets.token_hex(3)}",
                channel=channel,
                flow="outbound",
                strategy_id=sid,
                query=AudienceQuery.model_validate({"branch_ids": [branch.id]}),
                starts_on=today,
                ends_on=today + timedelta(days=30),
                holdout_pct=0,
                cost_per_touch_fen=0,
                created_by=None,
            )
            ids[channel] = c.id
    async with sm.begin() as s:
        await campaigns.launch(s, ids["sms"])
    gateway = DevGateway()
    sent = await campaigns.dispatch_outbound(sm, campaign_id=ids["sms"], gateway=gateway, signature="【某某移动】")
    assert sent["sent"] == 5
    assert {m.text for m in gateway.outbox} == {"【某某移动】您好，您的专属流量包已到，月费立减10元。回复TD退订"}
    async with sm.begin() as s:  # the SMS campaign's touches this month leave room for one call each
        await campaigns.launch(s, ids["outbound_call"])
    calls = DevGateway()
    await campaigns.dispatch_outbound(sm, campaign_id=ids["outbound_call"], gateway=calls)
    assert calls.outbox and {m.text for m in calls.outbox} == {"您好，您的专属流量包已到，月费立减10元。"}


async def test_a_stored_template_that_fails_the_check_is_not_sent(customer_client, customer_app, sm) -> None:
    """Written around the API (a hand edit): the default is sent rather than a broken text."""
    async with sm.begin() as s:
        c = await create_customer(s)
        await programme_settings.put(
            s,
            programme_settings.SMS_TEMPLATES,
            {**sms_templates.DEFAULTS, "otp": "您的验证码是 {secret}"},
            staff_id=None,
        )
    sms = await _code_sms(customer_client, customer_app, c.phone)
    assert sms == f"【Tenure】您的登录验证码为{otp_in(sms)}，5分钟内有效，请勿告诉他人。"
    await _reset(sm)


def test_every_template_has_a_field_a_valid_default_and_chinese_text() -> None:
    assert set(SmsTemplates.model_fields) == set(sms_templates.DEFAULTS)
    for key, template in sms_templates.DEFAULTS.items():
        sms_templates.check(key, template)
        assert CJK.search(template), key
        assert not template.startswith("【"), "the signature is added when sent, not part of a template"
    SmsTemplates.model_validate(sms_templates.DEFAULTS)
