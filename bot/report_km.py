"""Kaplan–Meier curves of time to first infection by group: censoring marks, months on the axis, the numbers
at risk under it and the log-rank p; and the same as cumulative incidence (1 − KM)."""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no screen
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib import font_manager
from noto_cjk_sans_otc import FONT_PATH as NOTO_SANS_CJK

from bot.i18n import Gettext
from bot.report_format import GROUP_NAMES, p_phrase
from bot.statistics import GROUPS, kaplan_meier, log_rank_p

DAYS_PER_MONTH = 365.25 / 12
TICK_MONTHS = 3


CJK_FONT_FILES = ("wqyzenhei", "wqymicrohei", "notosanscjk", "sourcehansans", "droidsansfallback")


@cache
def use_cjk_font() -> None:
    """Chinese labels need a CJK font: register the installed ones (matplotlib's font cache may predate them) and
    let matplotlib fall back to them for glyphs DejaVu Sans lacks."""
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # "weight normal ... using 500"
    names = []
    for path in font_manager.findSystemFonts():
        if any(marker in Path(path).name.lower().replace("-", "").replace("_", "") for marker in CJK_FONT_FILES):
            font_manager.fontManager.addfont(path)
            names.append(font_manager.FontProperties(fname=path).get_name())
    # Noto Sans CJK ships with the project (noto-cjk-sans-otc): a fresh machine draws Chinese labels too
    font_manager.fontManager.addfont(str(NOTO_SANS_CJK))
    names.append(font_manager.FontProperties(fname=str(NOTO_SANS_CJK)).get_name())
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", *dict.fromkeys(names)]


def at_risk_table(patients: pd.DataFrame) -> pd.DataFrame:
    """Patients still at risk (followed and infection-free) at the start of every third month, by group."""
    last = int(np.ceil(patients["days"].max() / DAYS_PER_MONTH)) if len(patients) else 0
    months = list(range(0, max(last, TICK_MONTHS) + 1, TICK_MONTHS))
    return pd.DataFrame(
        {
            "month": months,
            **{
                group: [
                    int((patients.loc[patients["group"] == group, "days"] >= month * DAYS_PER_MONTH).sum())
                    for month in months
                ]
                for group in GROUPS
            },
        }
    )


def km_figures(patients: pd.DataFrame, survival: Path, cumulative: Path, _: Gettext) -> tuple[float, pd.DataFrame]:
    """Draw both views; returns the log-rank p and the numbers at risk shown under the axis."""
    use_cjk_font()
    p_log_rank = log_rank_p(patients)
    at_risk = at_risk_table(patients)
    fitted = kaplan_meier(patients)
    for path, cumulative_view in ((survival, False), (cumulative, True)):
        figure, axes = plt.subplots(figsize=(8, 5.4), dpi=120)
        for group, fitter in fitted.items():
            plot = fitter.plot_cumulative_density if cumulative_view else fitter.plot_survival_function
            plot(ax=axes, ci_show=True, show_censors=True, censor_styles={"marker": "|", "ms": 8})
            name = GROUP_NAMES[group]
            axes.get_lines()[-1].set_label(_(name))
        ticks = at_risk["month"].to_numpy()
        axes.set_xticks(ticks * DAYS_PER_MONTH, [str(month) for month in ticks])
        axes.set_xlim(0, ticks[-1] * DAYS_PER_MONTH)
        axes.set_xlabel(_("Months since baseline"))
        axes.set_ylabel(_("Cumulative incidence of infection") if cumulative_view else _("Probability of no infection"))
        axes.set_ylim(0, 1.02)
        axes.set_title(_("Time to first confirmed infection (log-rank p {p})").format(p=_(p_phrase(p_log_rank))))
        if fitted:
            axes.legend(loc="lower left" if not cumulative_view else "upper left")
        axes.text(0, -0.2, _("Number at risk"), transform=axes.transAxes, fontsize=8, weight="bold")
        for row, group in enumerate(GROUPS, start=1):
            name = GROUP_NAMES[group]
            axes.text(-0.02, -0.2 - 0.07 * row, _(name), transform=axes.transAxes, ha="right", fontsize=8)
            for month, count in zip(ticks, at_risk[group], strict=True):
                axes.text(
                    month * DAYS_PER_MONTH,
                    -0.2 - 0.07 * row,
                    str(count),
                    transform=axes.get_xaxis_transform(),
                    ha="center",
                    fontsize=8,
                )
        figure.subplots_adjust(left=0.2, bottom=0.32)
        figure.savefig(path)
        plt.close(figure)
    return p_log_rank, at_risk
