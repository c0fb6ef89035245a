"""A second Cox implementation for the tests: Efron's partial likelihood written out, maximised by scipy, with
the standard errors from a finite-difference Hessian. Shares no code with lifelines."""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats


def efron_log_likelihood(beta: np.ndarray, x: np.ndarray, days: np.ndarray, event: np.ndarray) -> float:
    eta = x @ beta
    weight = np.exp(eta)
    total = 0.0
    for moment in np.unique(days[event == 1]):
        dead = (days == moment) & (event == 1)
        at_risk = days >= moment
        d = int(dead.sum())
        risk_sum, dead_sum = weight[at_risk].sum(), weight[dead].sum()
        total += eta[dead].sum() - sum(np.log(risk_sum - j / d * dead_sum) for j in range(d))
    return float(total)


def cox_by_hand(x: np.ndarray, days: np.ndarray, event: np.ndarray) -> list[tuple[float, float, float, float]]:
    """(hazard ratio, 95% low, 95% high, Wald p) for each column of x."""
    fitted = optimize.minimize(
        lambda beta: -efron_log_likelihood(beta, x, days, event), np.zeros(x.shape[1]), method="BFGS", tol=1e-10
    )
    beta, k, step = fitted.x, x.shape[1], 1e-4
    hessian = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            shifts = [np.zeros(k), np.zeros(k)]
            shifts[0][i], shifts[1][j] = step, step
            hessian[i, j] = (
                efron_log_likelihood(beta + shifts[0] + shifts[1], x, days, event)
                - efron_log_likelihood(beta + shifts[0] - shifts[1], x, days, event)
                - efron_log_likelihood(beta - shifts[0] + shifts[1], x, days, event)
                + efron_log_likelihood(beta - shifts[0] - shifts[1], x, days, event)
            ) / (4 * step * step)
    se = np.sqrt(np.diag(np.linalg.inv(-hessian)))
    z = stats.norm.ppf(0.975)
    return [
        (
            float(np.exp(b)),
            float(np.exp(b - z * s)),
            float(np.exp(b + z * s)),
            float(2 * stats.norm.sf(abs(b / s))),
        )
        for b, s in zip(beta, se, strict=True)
    ]
