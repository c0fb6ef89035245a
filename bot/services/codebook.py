"""The export datasets' columns and their codebook: label in English and Chinese, type, allowed codes."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.forms import EXPORTED, ITEMS, Kind
from bot.i18n import gettext_for
from bot.infection_fields import INFECTION_FIELDS, InfectionField
from bot.roles import ACKNOWLEDGING_ROLES
from bot.services.deviations import KINDS as DEVIATION_KINDS
from bot.services.preventive import PREVENTIVE_LABELS
from models import LANGUAGES, PatientStatus

ZH = gettext_for("zh_CN")
LEVELS = {
    "none": ("none", "无"),
    "review": ("review", "需查看"),
    "infection": ("suspected infection", "疑似感染"),
    "urgent": ("urgent", "紧急"),
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # string, integer, number, boolean, date, datetime
    en: str
    zh: str
    codes: dict[str, tuple[str, str]] = field(default_factory=dict)


def _codes(labels: dict[str, str]) -> dict[str, tuple[str, str]]:
    return {code: (label, ZH(label)) for code, label in labels.items()}


def _enum(*values: str) -> dict[str, tuple[str, str]]:
    return {value: (value, value) for value in values}


STUDY_ID = Column("study_id", "string", "Study ID (pseudonymous)", "研究编号（匿名）")
CORRECTED = Column(
    "corrected", "boolean", "Changed after entry, with a reason (see audit)", "录入后经更正（理由见audit）"
)
SITE = Column("site", "string", "Site code", "中心代码")
GROUP = Column(
    "group",
    "string",
    "Group",
    "组别",
    {"il2": ("low-dose IL-2", "低剂量IL-2组"), "control": ("control", "对照组")},
)
YES_NO = {"yes": ("yes", "是"), "no": ("no", "否")}
YES_NO_UNSURE = {**YES_NO, "not_sure": ("not sure", "不确定")}
FLAG = {"1": ("yes", "是"), "0": ("no", "否")}


PREFIXES = {"immunosuppressants": "drug"}  # Stata allows 32 characters for a variable name


def column_prefix(item_id: str) -> str:
    return PREFIXES.get(item_id, item_id)


def _item_columns() -> list[Column]:
    columns: list[Column] = []
    for item in EXPORTED:
        en, zh = item.title, ZH(item.title)
        if item.kind is Kind.MULTI:
            columns += [
                Column(
                    f"{column_prefix(item.id)}_{code}",
                    "integer",
                    f"{en}: {item.label(code)}",
                    f"{zh}：{ZH(item.label(code))}",
                    FLAG,
                )
                for code in item.options
            ]
        elif item.kind is Kind.YES_NO:
            columns.append(Column(item.id, "string", en, zh, YES_NO))
        elif item.kind is Kind.YES_NO_UNSURE:
            columns.append(Column(item.id, "string", en, zh, YES_NO_UNSURE))
        elif item.kind is Kind.CHOICE:
            codes = {code: (item.label(code), ZH(item.label(code))) for code in item.options}
            columns.append(Column(item.id, "string", en, zh, codes))
        elif item.kind is Kind.TEMPERATURE:
            columns.append(Column(item.id, "number", f"{en} (°C)", f"{zh}（°C）"))
            columns.append(Column(f"{item.id}_not_measured", "integer", "Temperature not measured", "未测体温", FLAG))
        elif item.kind is Kind.INTEGER:
            columns.append(Column(item.id, "integer", en, zh))
        elif item.kind is Kind.NUMBER:
            columns.append(Column(item.id, "number", en, zh))
        else:
            columns.append(Column(item.id, "string", en, zh))
    return columns


def _infection_column(spec: InfectionField) -> Column:
    en, zh = spec.label, ZH(spec.label)
    if spec.many:
        en, zh = f"{en} (codes ; separated)", f"{zh}（代码以;分隔）"
    return Column(spec.column, spec.value_type, en, zh, _codes(dict(spec.codes)))


def _infection_columns(*, through: str = "", after: str = "") -> list[Column]:
    """The infection fields up to `through` (included), or those after `after` (the CTCAE version goes beside
    the grade)."""
    names = [spec.name for spec in INFECTION_FIELDS]
    chosen = INFECTION_FIELDS[: names.index(through) + 1] if through else INFECTION_FIELDS[names.index(after) + 1 :]
    return [_infection_column(spec) for spec in chosen]


DATASETS: dict[str, list[Column]] = {
    "patients": [
        STUDY_ID,
        SITE,
        GROUP,
        Column(
            "status",
            "string",
            "Follow-up status",
            "随访状态",
            _enum(*(status.value for status in PatientStatus)),
        ),
        Column("baseline_date", "date", "Baseline (enrollment) date", "基线（入组）日期"),
        Column("il2_start", "date", "First IL-2 cycle start", "首个IL-2疗程开始日期"),
        Column("language", "string", "Language", "语言", _enum(*LANGUAGES)),
        Column("timezone", "string", "Time zone", "时区"),
        Column("consented_at", "datetime", "Consent given in Telegram (UTC)", "在Telegram中同意的时间（UTC）"),
        Column("consent_version", "string", "Consent text version agreed to", "同意书版本"),
        Column("consent_language", "string", "Language the consent text was shown in", "同意书显示语言"),
        Column("consent_text_sha256", "string", "SHA-256 of the exact consent text shown", "所显示同意书文本的SHA-256"),
        Column("unreachable", "boolean", "Cannot be reached in Telegram", "无法通过Telegram联系"),
        Column("ended_at", "datetime", "Follow-up ended (UTC)", "随访结束时间（UTC）"),
        Column("end_reason", "string", "Why follow-up ended", "随访结束原因"),
        Column("died_on", "date", "Date of death", "死亡日期"),
        Column(
            "preventive_medicines",
            "string",
            "Regular preventive medicines (;-separated)",
            "长期预防用药（以;分隔）",
            dict(PREVENTIVE_LABELS),
        ),
    ],
    "checkins": [
        STUDY_ID,
        SITE,
        GROUP,
        Column("response_id", "integer", "Response number", "问卷编号"),
        Column(
            "form",
            "string",
            "Form",
            "问卷类型",
            {"checkin": ("monthly check-in", "每月随访"), "report": ("symptom report", "症状报告")},
        ),
        Column("month", "integer", "Follow-up month (check-ins)", "随访月份（每月随访）"),
        Column("submitted_at", "datetime", "Submitted (UTC)", "提交时间（UTC）"),
        Column(
            "late",
            "boolean",
            "Submitted after the check-in's window closed (kept and triaged, not on time)",
            "在随访时间窗关闭后提交（已保存并分诊，不算按时）",
        ),
        Column(
            "partial",
            "boolean",
            "Left unfinished and submitted by the system because its answers needed an alert",
            "未填完，因回答需要警报而由系统提交",
        ),
        Column("triage_level", "string", "Triage level", "分诊级别", LEVELS),
        Column("triage_reasons", "string", "Triage reasons (codes, ; separated)", "分诊原因（代码，以;分隔）"),
        *_item_columns(),
    ],
    "answers": [
        STUDY_ID,
        Column("response_id", "integer", "Response number", "问卷编号"),
        Column("form", "string", "Form", "问卷类型", _enum("checkin", "report")),
        Column(
            "response_status",
            "string",
            "Response status",
            "问卷状态",
            _enum("in_progress", "submitted", "abandoned"),
        ),
        Column(
            "item_id",
            "string",
            "Question",
            "问题",
            {item.id: (item.title, ZH(item.title)) for item in ITEMS.values()},
        ),
        Column("value", "string", "Answer (codes ; separated, numbers as typed)", "回答（代码以;分隔）"),
        Column(
            "typed", "string", "What the patient typed, before it was read as the value", "患者输入的原文（换算前）"
        ),
        Column("answered_at", "datetime", "Answered (UTC)", "回答时间（UTC）"),
        CORRECTED,
    ],
    "doses": [
        STUDY_ID,
        SITE,
        Column("cycle", "integer", "IL-2 cycle", "IL-2疗程"),
        Column("dose", "integer", "Dose within the cycle", "疗程内第几次"),
        Column("planned_date", "date", "Planned date (patient's zone)", "计划日期（患者时区）"),
        Column(
            "status",
            "string",
            "Status",
            "状态",
            _enum("planned", "open", "taken", "skipped", "unconfirmed", "missed", "cancelled", "paused"),
        ),
        Column("confirmed_at", "datetime", "Answered by the patient (UTC)", "患者回答时间（UTC）"),
        Column("reminders_sent", "integer", "Reminders sent", "已发送提醒次数"),
        Column("snoozes", "integer", "Times 'remind me later'", "“稍后提醒”次数"),
    ],
    "escalations": [
        STUDY_ID,
        SITE,
        GROUP,
        Column("escalation_id", "integer", "Escalation number", "警报编号"),
        Column("raised_at", "datetime", "Raised: first report (UTC)", "触发时间：首次报告（UTC）"),
        Column(
            "level_raised_at",
            "datetime",
            "Chain last (re)started (UTC): level raised, or a new urgent report after acknowledgement",
            "警报链最近一次（重新）启动时间（UTC）：级别升高，或确认后又有新的紧急报告",
        ),
        Column("level", "string", "Level", "级别", LEVELS),
        Column("reasons", "string", "Reasons (codes, ; separated)", "原因（代码，以;分隔）"),
        Column("acknowledged_at", "datetime", "Acknowledged (UTC)", "确认收到时间（UTC）"),
        Column(
            "acknowledged_by_role",
            "string",
            "Role of who acknowledged",
            "确认人角色",
            _enum(*ACKNOWLEDGING_ROLES),
        ),
        Column("minutes_to_acknowledge", "number", "Minutes to acknowledge", "确认所用分钟数"),
        Column("outcome", "string", "Outcome", "结果", _enum("open", "acknowledged", "confirmed", "dismissed")),
        Column(
            "dismissal_code",
            "string",
            "Why it was not an infection (coded)",
            "判定“不是感染”的原因（编码）",
            {
                "sle_flare": ("SLE flare", "狼疮活动（复发）"),
                "il2_reaction": ("IL-2 reaction", "IL-2反应"),
                "drug_fever": ("drug fever", "药物热"),
                "other_illness": ("another illness that looks like an infection", "其他类似感染的疾病"),
                "other": ("other (see resolution_reason)", "其他（见resolution_reason）"),
            },
        ),
        Column("resolution_reason", "string", "Reason given for 'not an infection'", "“不是感染”的原因"),
    ],
    "infections": [
        Column("infection_id", "integer", "Infection number (for corrections)", "感染记录编号（用于更正）"),
        STUDY_ID,
        SITE,
        GROUP,
        *_infection_columns(through="ctcae_grade"),
        Column("ctcae_version", "string", "CTCAE version of the grade", "CTCAE分级版本"),
        *_infection_columns(after="ctcae_grade"),
        Column(
            "source",
            "string",
            "Found through",
            "发现途径",
            {"bot": ("bot alert", "机器人警报"), "clinic": ("clinic visit", "门诊随访")},
        ),
        Column(
            "first_infection",
            "boolean",
            "Patient's first confirmed infection (earliest onset; void ones not counted)",
            "患者首次确诊感染（按起病日期最早；作废记录不计）",
        ),
        Column("recorded_at", "datetime", "Recorded (UTC)", "记录时间（UTC）"),
        CORRECTED,
        Column("voided_at", "datetime", "Voided as entered in error (UTC)", "因录入错误作废的时间（UTC）"),
        Column("void_reason", "string", "Why it was voided", "作废原因"),
    ],
    "deviations": [
        STUDY_ID,
        SITE,
        Column("kind", "string", "What deviated from the plan", "偏离类型", DEVIATION_KINDS),
        Column("date", "date", "When (the planned day, or the day it happened)", "日期（计划日期或发生日期）"),
        Column("detail", "string", "Which contact, or what changed", "具体内容"),
    ],
    "audit": [
        Column("occurred_at", "datetime", "When (UTC)", "时间（UTC）"),
        Column("actor", "string", "Who (cli:user, patient:ID, staff:N, system)", "操作者"),
        Column("action", "string", "What was done", "操作"),
        Column("record", "string", "Which record (table)", "记录类型（表）"),
        Column("record_id", "string", "Record number", "记录编号"),
        Column("study_id", "string", "Study ID, for a patient record", "研究编号（患者记录）"),
        Column("before", "string", "Values before (JSON)", "修改前的值（JSON）"),
        Column("after", "string", "Values after (JSON)", "修改后的值（JSON）"),
        Column("reason", "string", "Reason given", "理由"),
    ],
}

CODEBOOK_COLUMNS = ["dataset", "variable", "label_en", "label_zh", "type", "codes", "note"]
FREE_TEXT_NOTE = (
    "Free text. In CSV and xlsx, a text starting with = + - @, a tab or a carriage return is prefixed with ' "
    "so that no spreadsheet runs it as a formula; Parquet and Stata keep the text as typed. / "
    "自由文本。CSV和xlsx中，以= + - @、制表符或回车开头的文本前加 '，以免电子表格把它当作公式执行；"
    "Parquet和Stata保留原文。"
)


def is_free_text(column: Column) -> bool:
    """A text column without a fixed set of codes: what a person typed (an organism, a reason, an answer)."""
    return column.type == "string" and not column.codes


def codebook_rows() -> list[dict[str, str]]:
    return [
        {
            "dataset": name,
            "variable": column.name,
            "label_en": column.en,
            "label_zh": column.zh,
            "type": column.type,
            "codes": "; ".join(f"{code}={en} / {zh}" for code, (en, zh) in column.codes.items()),
            "note": FREE_TEXT_NOTE if is_free_text(column) else "",
        }
        for name, columns in DATASETS.items()
        for column in columns
    ]
