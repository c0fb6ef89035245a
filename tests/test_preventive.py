"""Regular preventive medicines are recorded at enrollment and when they change (audited), never asked as a
monthly alarm: a patient on TMP-SMX is not an infection every month."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import create_engine, select

from bot.db import sync_url
from models import AuditEvent, Patient
from tests.test_cli import counts, followup, study  # noqa: F401 - the CLI study fixture


def stored(database_url: str, study_id: str) -> tuple[list[str], list[tuple[str, object]]]:
    engine = create_engine(sync_url(database_url))
    with engine.connect() as connection:
        medicines = connection.scalar(select(Patient.preventive_medicines).where(Patient.study_id == study_id))
        events = connection.execute(select(AuditEvent.action, AuditEvent.after).order_by(AuditEvent.id)).all()
    engine.dispose()
    return list(medicines or []), [(action, after) for action, after in events]


def test_it_records_preventive_medicines_at_enrollment_and_when_they_change(study: str) -> None:  # noqa: F811
    code, _out, err = followup(
        "patients",
        "enroll",
        "--site",
        "PKU",
        "--group",
        "il2",
        "--study-id",
        "S001",
        "--preventive",
        "TMP_SMX, entecavir",
    )
    assert code == 0, err
    assert stored(study, "S001")[0] == ["tmp_smx", "entecavir"]
    code, out, _err = followup("patients", "show", "S001")
    assert "tmp_smx, entecavir" in out
    code, out, err = followup(
        "patients", "preventive", "S001", "--medicines", "tmp_smx,isoniazid", "--reason", "latent TB found"
    )
    assert (code, out, err) == (0, "S001: preventive medicines now tmp_smx, isoniazid\n", "")
    medicines, events = stored(study, "S001")
    assert medicines == ["tmp_smx", "isoniazid"]
    assert events[-1] == (
        "patient.preventive_medicines",
        {"preventive_medicines": ["tmp_smx", "isoniazid"], "reason": "latent TB found"},
    )
    code, out, _err = followup("patients", "preventive", "S001", "--medicines", "none", "--reason", "stopped")
    assert out == "S001: preventive medicines now none\n"
    assert stored(study, "S001")[0] == []


def test_it_refuses_unknown_medicines_in_one_line_and_writes_nothing(study: str) -> None:  # noqa: F811
    followup("patients", "enroll", "--site", "PKU", "--group", "il2", "--study-id", "S001", "--preventive", "tmp_smx")
    before = counts(study)
    for args, message in [
        (
            ("--medicines", "aspirin", "--reason", "x"),
            "error: medicines: unknown medicine(s) aspirin; use tmp_smx, entecavir, tenofovir, isoniazid, "
            "antifungal, antiviral, other or none\n",
        ),
        (("--medicines", "isoniazid", "--reason", " "), "error: reason: say why it changed\n"),
        (("--medicines", "tmp_smx", "--reason", "x"), "error: S001: preventive medicines are already tmp_smx\n"),
    ]:
        assert followup("patients", "preventive", "S001", *args) == (1, "", message)
    code, out, err = followup(
        "patients", "enroll", "--site", "PKU", "--group", "il2", "--study-id", "S002", "--preventive", "bactrim"
    )
    assert (code, out) == (1, "")
    assert err.startswith("error: preventive: unknown medicine(s) bactrim")
    assert err.count("\n") == 1
    assert counts(study) == before


def test_it_imports_and_exports_preventive_medicines(study: str, tmp_path: Path) -> None:  # noqa: F811
    (tmp_path / "patients.csv").write_text(
        "study_id,site,group,preventive\nP001,PKU,il2,tmp_smx;entecavir\nP002,PKU,control,\n", encoding="utf-8"
    )
    code, _out, err = followup("patients", "import", "patients.csv")
    assert code == 0, err
    assert followup("export", "--out", "exports")[0] == 0
    patients = pd.read_csv(tmp_path / "exports" / "patients.csv", encoding="utf-8-sig", keep_default_na=False)
    assert patients.set_index("study_id")["preventive_medicines"].to_dict() == {"P001": "tmp_smx;entecavir", "P002": ""}
    codebook = pd.read_csv(tmp_path / "exports" / "codebook.csv", encoding="utf-8-sig")
    row = codebook[(codebook["dataset"] == "patients") & (codebook["variable"] == "preventive_medicines")]
    assert "复方磺胺甲噁唑" in row["codes"].iloc[0]
