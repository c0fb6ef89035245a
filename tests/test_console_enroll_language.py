"""A refused enrollment is explained in the staff member's language: each bad CSV row names its line and column,
a bad form field its name, and pydantic's English never reaches a Chinese page. The command line keeps English."""

from __future__ import annotations

import html

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from models import StaffRole
from tests.console_fixtures import console_client, linked_staff, signed_in
from tests.test_console_enroll import patients, two_sites

PYDANTIC_WORDS = ("Input should", "Field required", "String should", "Value error", "not a real date", "use HH:MM")


async def chinese_coordinator(engine: AsyncEngine, clock: FakeClock, client: httpx.AsyncClient) -> str:
    staff = await linked_staff(
        engine, clock, role=StaffRole.COORDINATOR, name="王老师", telegram_user_id=105, language="zh_CN"
    )
    return await signed_in(client, engine, clock, staff)


def shown(response: httpx.Response) -> str:
    return html.unescape(response.text)


async def test_it_names_each_bad_csv_row_and_column_in_chinese_and_enrolls_nothing(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    await two_sites(engine, clock)
    rows = (
        "study_id,site,group,il2_start,reminder_time,language,preventive\n"
        "PKU-101,PKU,il2,,,,\n"
        "PKU-102,PKU,il2,2026-02-30,,,\n"
        "PKU-103,PKU,placebo,,,,\n"
        "PKU-104,PKU,control,2026-03-01,,,\n"
        "PKU-105,PKU,il2,,9 o'clock,,\n"
        "PKU-106,PKU,il2,,,fr,\n"
        "PKU-107,PKU,il2,,,,bactrim\n"
        "PKU-101,PKU,il2,,,,\n"
    )
    async with console_client(engine, clock) as client:
        csrf = await chinese_coordinator(engine, clock, client)
        preview = await client.post("/enroll/csv", data={"csrf_token": csrf}, files={"file": ("p.csv", rows.encode())})
        forged = await client.post("/enroll/csv/import", data={"csrf_token": csrf, "content": rows})
    assert preview.status_code == forged.status_code == 400
    page = shown(preview)
    assert "有7行无法入组。" in page
    for line, problem in [
        (3, "il2_start：'2026-02-30' 不是有效日期（格式：YYYY-MM-DD）。"),
        (4, "group：只能填 'il2' 或 'control'。"),
        (5, "il2_start：仅适用于 il2 组。"),
        (6, "reminder_time：请按 HH:MM 格式填写，例如 09:00。"),
        (7, "language：只能是以下之一：zh_CN, en。"),
        (8, "preventive：填写的值无效，请检查。"),  # no msgid of its own: the column, never pydantic's English
    ]:
        assert f"<td>{line}</td><td></td><td></td><td></td><td>{problem}</td>" in page, line
    assert "<td>9</td><td>PKU-101</td><td>PKU</td><td>il2</td><td>study_id：PKU-101 与第 2 行重复。</td>" in page
    assert "未入组：第 3 行：il2_start：'2026-02-30' 不是有效日期（格式：YYYY-MM-DD）。" in shown(forged)
    for response in (preview, forged):
        assert not [words for words in (*PYDANTIC_WORDS, "line ", "bactrim;") if words in shown(response)]
    assert await patients(engine) == []


async def test_it_refuses_a_csv_file_without_its_columns_in_chinese(engine: AsyncEngine, clock: FakeClock) -> None:
    await two_sites(engine, clock)
    async with console_client(engine, clock) as client:
        csrf = await chinese_coordinator(engine, clock, client)
        refused = {}
        for name, content in [
            ("missing", b"study_id,site\nPKU-1,PKU\n"),
            ("unknown", b"study_id,site,group,name\nPKU-1,PKU,il2,Wang\n"),
            ("empty", b"study_id,site,group\n"),
        ]:
            response = await client.post("/enroll/csv", data={"csrf_token": csrf}, files={"file": ("p.csv", content)})
            assert response.status_code == 400, name
            refused[name] = shown(response)
        too_many = {"csrf_token": csrf, "content": "study_id,site,group\nPKU-1,PKU,il2,extra\n"}
        refused["too many"] = shown(await client.post("/enroll/csv/import", data=too_many))
    assert "未入组：第 1 行：缺少列：group。" in refused["missing"]
    assert "未入组：第 1 行：无法识别的列：name（可用的列：study_id, site, group," in refused["unknown"]
    assert "未入组：文件里没有患者数据行。" in refused["empty"]
    assert "第 2 行：这一行的值比表头的列多。" in refused["too many"]
    assert await patients(engine) == []


async def test_it_explains_a_refused_enrollment_form_in_chinese_naming_the_field(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    await two_sites(engine, clock)
    good = {"study_id": "PKU-101", "site": "PKU", "group": "il2"}
    cases = {
        "enrolled_on：'2026-3-1' 不是有效日期（格式：YYYY-MM-DD）。": {"enrolled_on": "2026-3-1"},
        "il2_start：'明天' 不是有效日期（格式：YYYY-MM-DD）。": {"il2_start": "明天"},
        "study_id：请用 1-32 个英文字母、数字、“-”或“_”。": {"study_id": "张三"},
        "study_id：必须填写。": {"study_id": ""},
        "site：最多 32 个字符。": {"site": "P" * 33},
        "group：只能填 'il2' 或 'control'。": {"group": "<b>x</b>"},
        "reminder_time：请按 HH:MM 格式填写，例如 09:00。": {"reminder_time": "25:00"},
    }
    async with console_client(engine, clock) as client:
        csrf = await chinese_coordinator(engine, clock, client)
        for problem, changed in cases.items():
            refused = await client.post("/enroll", data={"csrf_token": csrf, **good, **changed})
            assert refused.status_code == 400, problem
            assert f"未入组：{problem}" in shown(refused), problem
            assert not [words for words in PYDANTIC_WORDS if words in shown(refused)], problem
    assert await patients(engine) == []
