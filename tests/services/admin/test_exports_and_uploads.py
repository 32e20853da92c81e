"""CSV exports neutralise formula cells; upload file names are stored as a clean display name."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from shared.models import ImportJob
from shared.web.csv_export import safe_cell, to_csv
from tests.fixtures.factories import create_staff

EVIL = "=1+2+cmd|' /C calc'!A0"


def _rows(resp) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    return list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"))))


@pytest.mark.parametrize("raw", [EVIL, "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("http://x")'])
def test_formula_cells_are_prefixed(raw: str) -> None:
    assert safe_cell(raw) == "'" + raw


def test_plain_text_and_numbers_pass_unchanged() -> None:
    assert [safe_cell(v) for v in ("张三", "a=b", "", None, -12, 3.5, True)] == [
        "张三",
        "a=b",
        "",
        "",
        -12,
        3.5,
        "True",
    ]
    assert to_csv([{"n": -12, "name": "=x"}]).decode("utf-8-sig") == "n,name\n-12,'=x\n"


async def test_manager_kpi_export_neutralises_a_staff_name(admin_client, sm, org, auth) -> None:
    async with sm.begin() as s:
        await create_staff(s, role="account_manager", org_unit_id=org[2].id, full_name=EVIL)
    resp = await admin_client.get("/v1/reports/manager-kpis", params={"format": "csv"}, headers=auth["analyst"])
    assert resp.status_code == 200, resp.text
    names = [r["full_name"] for r in _rows(resp)]
    assert "'" + EVIL in names and EVIL not in names


async def test_audit_export_neutralises_text_from_users(admin_client, sm, staff, auth) -> None:
    from shared.audit import service as audit
    from shared.auth.principals import Audience, Principal

    async with sm.begin() as s:
        await audit.record(
            s,
            principal=Principal("staff", staff["admin"].id, "admin", Audience.ADMIN),
            action="test.export",
            object_kind="tag",
            object_id="@SUM(1+1)*cmd|' /C calc'!A0",
        )
    resp = await admin_client.get(
        "/v1/audit", params={"format": "csv", "action": "test.export"}, headers=auth["auditor"]
    )
    assert resp.status_code == 200, resp.text
    assert [r["object_id"] for r in _rows(resp)] == ["'@SUM(1+1)*cmd|' /C calc'!A0"]


def test_display_name_drops_every_control_character() -> None:
    from shared.backoffice.imports.service import display_name

    assert display_name("a\x00b\x07c\r\nd\x7f\u200b.csv") == "abcd.csv"
    assert display_name(None) == display_name("") == display_name(" . ") == "upload.csv"
    assert len(display_name("x" * 500)) == 100


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("../../../../tmp/x.csv", "x.csv"),
        ("..\\..\\windows\\system32\\x.csv", "x.csv"),
        ("C:\\Users\\li\\Desktop\\usage.csv", "usage.csv"),
        ("us\x1ba\x1bge\u202e\u2028.csv", "usage.csv"),
        ("..", "upload.csv"),
        ("/", "upload.csv"),
        ("用量" * 200 + ".csv", ("用量" * 200)[:96] + ".csv"),
    ],
)
async def test_upload_names_are_stored_as_a_clean_display_name(admin_client, sm, auth, sent, stored) -> None:
    body = f"customer_id,month,voice_min\n1,2026-01,{len(sent)}\n".encode()
    up = await admin_client.post(
        "/v1/imports", params={"kind": "usage"}, headers=auth["admin"], files={"file": (sent, body, "text/csv")}
    )
    assert up.status_code in (200, 202), up.text
    assert up.json()["filename"] == stored
    async with sm() as s:
        job = await s.scalar(select(ImportJob).where(ImportJob.id == up.json()["id"]))
    assert job.filename == stored
