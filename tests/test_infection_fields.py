"""The infection fields are defined once (bot/infection_fields.py): the model's columns, the form, the CLI's
options, the codebook and the export all have exactly the table's fields, codes and types."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pandas as pd
from sqlalchemy import Enum, String
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from bot.cli import app as cli
from bot.clock import FakeClock
from bot.i18n import gettext_for
from bot.infection_fields import INFECTION_FIELDS
from bot.protocol import StudyProtocol
from bot.services import infection_form
from bot.services.codebook import DATASETS
from bot.services.infection_dates import DEATH_DATE
from models import Infection
from tests.study_seed import seed_study


def test_it_gives_the_model_a_column_of_the_tables_kind_for_every_field() -> None:
    columns = Infection.__table__.columns
    for spec in INFECTION_FIELDS:
        column = columns[spec.name]
        assert column.nullable is (not spec.required), spec.name
        if spec.enum_type is not None and not spec.many:
            assert isinstance(column.type, Enum), spec.name
            assert set(column.type.enums) == set(spec.codes) == {member.value for member in spec.enum_type}
        if spec.max_length is not None:
            assert isinstance(column.type, String), spec.name
            assert column.type.length == spec.max_length, spec.name
    assert (*(spec.name for spec in INFECTION_FIELDS), DEATH_DATE) == infection_form.FIELDS


def test_it_documents_every_field_in_the_codebook_with_its_type_and_codes() -> None:
    documented = {column.name: column for column in DATASETS["infections"]}
    for spec in INFECTION_FIELDS:
        column = documented[spec.column]
        assert column.type == spec.value_type, spec.name
        assert set(column.codes) == set(spec.codes), spec.name
        assert column.label_in(gettext_for("en")).startswith(spec.label), spec.name
        assert column.label_in(gettext_for("zh_CN")) != column.label_in(gettext_for("en")), spec.name


async def test_it_exports_every_field_of_a_record_made_from_the_cli(
    engine: AsyncEngine, protocol: StudyProtocol, clock: FakeClock, cli_env: str, tmp_path: Path
) -> None:
    await seed_study(engine, protocol, clock)
    runner = CliRunner()
    helped = await asyncio.to_thread(runner.invoke, cli, ["infections", "record", "--help"])
    for spec in INFECTION_FIELDS:
        if spec.enum_type is not None:
            assert all(code in " ".join(helped.stdout.split()) for code in spec.codes), spec.name
    recorded = await asyncio.to_thread(
        runner.invoke,
        cli,
        [
            *("infections", "record", "--study-id", "PKU-002", "--onset", "2026-03-01"),
            *("--site-type", "herpes_zoster", "--pathogen", "viral", "--organism", "VZV", "--grade", "3"),
            *("--treatment", "antiviral,procedure", "--hospitalized", "--outcome", "resolved_with_sequelae"),
        ],
    )
    assert recorded.exit_code == 0, recorded.stderr
    exported = await asyncio.to_thread(runner.invoke, cli, ["export", "--out", "out"])
    assert exported.exit_code == 0, exported.stderr
    infections = pd.read_csv(tmp_path / "out" / "infections.csv", encoding="utf-8-sig", dtype=str)
    ours = infections[infections["study_id"] == "PKU-002"].iloc[0]
    assert {spec.column: ours[spec.column] for spec in INFECTION_FIELDS} == {
        "onset_date": "2026-03-01",
        "site_type": "herpes_zoster",
        "pathogen": "viral",
        "organism": "VZV",
        "ctcae_grade": "3",
        "treatment": "antiviral;procedure",
        "hospitalized": "True",
        "outcome": "resolved_with_sequelae",
    }
