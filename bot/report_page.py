"""report.html in the reader's language: plain-language headers and labels (the CSVs keep the machine names)."""

from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd

from bot.forms import ITEMS
from bot.i18n import N_, Gettext
from bot.report_characteristics import characteristics_display
from bot.report_format import (
    GROUP_NAMES,
    NOT_ESTIMABLE,
    Verbatim,
    cox_display,
    exclusion_note,
    incidence_display,
    p_phrase,
    ph_display,
    provenance_display,
    quality_display,
    ratio_display,
    recurrent_display,
    sites_display,
)
from bot.report_models import CoxResult
from bot.services.preventive import PREVENTIVE_LABELS
from bot.services.report import StudyData
from bot.statistics import GROUPS

FLOW_LABELS = {
    "enrolled": N_("Enrolled"),
    "never_linked": N_("Never linked Telegram (not analysed)"),
    "linked": N_("Linked Telegram"),
    "declined_consent": N_("Declined consent (not analysed)"),
    "consented": N_("Consented"),
    "in_analysis": N_("In the analysis"),
    "first_infection": N_("First confirmed infection"),
    "completed_24_months": N_("Completed 24 months"),
    "withdrew_consent": N_("Withdrew consent"),
    "stopped_contact": N_("Stopped messages, followed up at the clinic"),
    "died": N_("Died"),
    "lost_to_follow_up": N_("Lost to follow-up (censored at the last contact)"),
    "in_follow_up_at_cutoff": N_("Still in follow-up at the cut-off"),
}
BASELINE_LABELS = {
    "patients": N_("Patients"),
    "site": N_("Study site"),
    "age_band": N_("Age band"),
    "prednisone_mg": N_("Prednisone-equivalent dose at the first check-in, mg/day"),
    "immunosuppressant": N_("Immunosuppressant at the first check-in"),
    "preventive_medicine": N_("Preventive medicine"),
    "months_at_risk": N_("Months at risk (to first infection or censoring)"),
}
DRUG_ITEM = ITEMS["immunosuppressants"]
# Table 1's summary column and words that appear as whole cells: extracted here for translation
CELL_WORDS = (N_("n"), N_("n (%)"), N_("median [IQR]"), N_("not collected by the study"), N_("not available"))


@dataclass(frozen=True)
class Tables:
    incidence: pd.DataFrame
    ratio: pd.DataFrame
    sites: pd.DataFrame
    baseline: pd.DataFrame
    characteristics_first: pd.DataFrame
    characteristics: pd.DataFrame
    cox: CoxResult
    recurrent: pd.DataFrame
    p_log_rank: float


def table_html(frame: pd.DataFrame, _: Gettext) -> str:
    """Headers and whole-cell words translated; numbers, codes and text as typed (Verbatim) as they are."""
    shown = frame.rename(columns=lambda name: _(name) if name else name)
    shown = shown.map(lambda cell: _translated(cell, _))
    return str(shown.to_html(index=False, float_format=lambda value: f"{value:.3g}", na_rep=_(NOT_ESTIMABLE), border=0))


def _translated(cell: object, _: Gettext) -> object:
    if isinstance(cell, str) and cell and not isinstance(cell, Verbatim):
        return _(cell)
    return cell


def flow_display(flow: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {N_("Stage"): flow["stage"].map(FLOW_LABELS), **{GROUP_NAMES[group]: flow[group] for group in GROUPS}}
    )


def baseline_display(table: pd.DataFrame, _: Gettext, language: str) -> pd.DataFrame:
    """Table 1 as printed: plain labels, missing values beside each group, SMD with 2 decimals."""

    def missing(count: object) -> str:
        if pd.isna(count) or float(str(count)) <= 0:
            return ""
        return _(" (missing {count})").format(count=int(float(str(count))))

    first_row = ~table["variable"].duplicated()

    def level(variable: str, code: str) -> str:
        if variable == "immunosuppressant":
            drug = DRUG_ITEM.label(code)
            return _(drug)
        if variable == "preventive_medicine":
            return _(PREVENTIVE_LABELS[code])
        return code

    return pd.DataFrame(
        {
            N_("Characteristic"): table["variable"].map(BASELINE_LABELS).where(first_row, ""),
            "": [level(variable, str(code)) for variable, code in zip(table["variable"], table["level"], strict=True)],
            N_("Summary"): table["summary"],
            **{
                GROUP_NAMES[group]: table[group].fillna("").map(lambda v: _(v) if v else v)
                + table[f"{group}_missing"].map(missing)
                for group in GROUPS
            },
            N_("Standardised mean difference"): table["smd"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}"),
        }
    )


def render(data: StudyData, tables: Tables, _: Gettext, language: str) -> str:
    ratio_value, ratio_interval = ratio_display(tables.ratio).iloc[0].iloc[1:3]
    hazard_ratio = cox_display(tables.cox.estimates).iloc[0].iloc[2]
    summary = _(
        "Rate ratio (IL-2 vs control): {ratio} (95% CI {interval}, exact conditional; p {p}). Crude hazard ratio "
        "{hazard_ratio}; log-rank p {log_rank}."
    ).format(
        ratio=_(ratio_value),
        interval=_(ratio_interval),
        p=_(p_phrase(tables.ratio.iloc[0]["p_value"])),
        hazard_ratio=_(hazard_ratio),
        log_rank=_(p_phrase(tables.p_log_rank)),
    )
    sections = [
        (
            _("Flow of patients (STROBE; every enrolled patient, analysed or not)"),
            _paragraph(
                _(
                    "Each patient as they stood on the cut-off date: a withdrawal, loss, completion or death dated "
                    "after the cut-off is not counted yet."
                )
            )
            + '<img src="flow.png" alt="" width="760">'
            + table_html(flow_display(data.flow), _),
        ),
        (
            _("Table 1. Patients at baseline (n (%) of those who answered; median [IQR])"),
            table_html(baseline_display(tables.baseline, _, language), _),
        ),
        (
            _("First confirmed infection: incidence per 100 person-years"),
            table_html(incidence_display(tables.incidence), _) + table_html(ratio_display(tables.ratio), _),
        ),
        (
            _("Hazard ratios of first infection (Cox, Efron ties)"),
            _paragraph(
                _(
                    "Observational comparison: the crude model has the group only; the adjusted model adds the "
                    "prednisone-equivalent dose and the immunosuppressant classes of the first check-in (patients "
                    "with a first check-in only). A model with too few events for its terms is not estimable."
                )
            )
            + table_html(cox_display(tables.cox.estimates), _)
            + _paragraph(exclusion_note(tables.cox.excluded, len(data.patients), _))
            + _paragraph(_("Proportional hazards: a small p suggests the hazard ratio changes over time."))
            + table_html(ph_display(tables.cox.proportional_hazards), _),
        ),
        (
            _("All confirmed infections (recurrent) per 100 person-years"),
            _paragraph(_("Follow-up here does not stop at the first infection."))
            + table_html(recurrent_display(tables.recurrent), _),
        ),
        (
            _("Time to first infection (Kaplan–Meier; | marks a censored patient)"),
            '<img src="km.png" alt="" width="760"><img src="cumulative_incidence.png" alt="" width="760">',
        ),
        (
            _("First infections by group (one per patient: the infection counted in the incidence)"),
            table_html(characteristics_display(tables.characteristics_first, _), _),
        ),
        (
            _(
                "All infections by group (Fisher's exact test for 2×2 tables; chi-square when every expected count "
                "is 5 or more; otherwise the Fisher–Freeman–Halton exact test by Monte Carlo, 20,000 tables)"
            ),
            table_html(characteristics_display(tables.characteristics, _), _),
        ),
        (
            _(
                "Adherence and data quality by group and site (check-ins whose window has closed, doses whose day "
                "has passed)"
            ),
            _paragraph(
                _(
                    "A check-in whose window was still open at the cut-off and not yet answered is counted as open "
                    "at the cut-off: neither due nor missed."
                )
            )
            + table_html(quality_display(data.quality), _),
        ),
        (_("Follow-up by site"), table_html(sites_display(tables.sites), _)),
        (_("Provenance"), table_html(provenance_display(data.provenance), _)),
    ]
    body = "\n".join(f"<h2>{html.escape(title)}</h2>\n{content}" for title, content in sections)
    method = _(
        "Cut-off {cutoff}; {patients} patients analysed. Person-time runs from the baseline to the first confirmed "
        "infection (earliest onset), withdrawal of consent, death, month 24 or the cut-off; a patient lost to "
        "follow-up or unreachable is censored at the last contact. Patients who never linked Telegram or declined "
        "consent are counted in the flow only."
    ).format(cutoff=data.cutoff.isoformat(), patients=len(data.patients))
    title = _("Infections with low-dose IL-2 vs control in SLE ({study})").format(
        study=data.provenance.get("protocol", "")
    )
    return f"""<!doctype html>
<html lang="{language.replace("_", "-")}"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto}}table{{border-collapse:collapse;margin:1em 0}}
td,th{{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}}</style></head><body>
<h1>{html.escape(title)}</h1>
{_paragraph(method)}
<p><strong>{html.escape(summary)}</strong></p>
{body}
</body></html>
"""


def _paragraph(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"
