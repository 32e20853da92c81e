"""Whom to contact: an uplift model from the campaigns' hold-out groups (issue 19, goal 5).

A churn score says who will leave; it does not say who would stay *because* we called. A
campaign's hold-out (campaign_members.holdout, assigned by hash at launch) is a randomised
control group, so treated and untreated members of campaigns that started inside a training
frame's label window give, for the same features, churn with and without contact.

Two-model (T-learner) estimate: one churn model fitted on treated members, one on the hold-out;
uplift = P(churn | not contacted) - P(churn | contacted), the expected fall in churn probability
from a contact. Customers who churn anyway and customers who never would both get ~0; the
persuadable ones get the most. Quality is a Qini curve on members held out of the fit (by id
hash): cumulative churners prevented when contacting the top share by uplift, against random
targeting. The fitted pair rides inside the churn artifact, so the nightly scoring writes
`customer_profiles.uplift_score` in the same COPY as the churn score.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.churn import features as feat
from shared.churn.pipeline import CANDIDATE_BY_NAME, ModelConfig, build, cpu_limits

CONFIG = CANDIDATE_BY_NAME["logreg_plain"]  # hold-out groups are small: a regularised linear model per arm
MIN_ARM = 100  # members per arm, and
MIN_CHURNERS = 10  # churners per arm, below which no uplift model is fitted
HOLD_OUT_SHARE = 0.3  # members scored for the Qini curve, not fitted on

_MEMBERS = text("""
SELECT DISTINCT ON (cm.customer_id) cm.customer_id, cm.holdout
FROM campaign_members cm
JOIN campaigns ca ON ca.id = cm.campaign_id
WHERE ca.starts_on >= CAST(:start AS date) AND ca.starts_on < CAST(:end AS date) AND ca.status <> 'draft'
ORDER BY cm.customer_id, ca.starts_on, ca.id
""")


@dataclass
class UpliftModel:
    """The treated-arm and hold-out-arm churn models; `predict` is the uplift per row."""

    config: ModelConfig
    treated: object
    control: object

    def predict(self, X: np.ndarray) -> np.ndarray:
        with cpu_limits():
            p_t = self.treated.predict_proba(X)[:, 1]  # type: ignore[attr-defined]
            p_c = self.control.predict_proba(X)[:, 1]  # type: ignore[attr-defined]
        return p_c - p_t


async def campaign_arms(session: AsyncSession, ids: np.ndarray, *, cutoff: date, horizon: int) -> np.ndarray:
    """Per frame row: 1 treated, 0 hold-out, -1 not in a campaign that started in the frame's
    label window (the months after `cutoff` in which its label counts churn). A customer in
    several such campaigns counts with the first."""
    p = feat.params(cutoff, horizon)
    rows = (await session.execute(_MEMBERS, {"start": p["cutoff_end"], "end": p["label_end"]})).all()
    arm = np.full(len(ids), -1, dtype=np.int8)
    if not rows:
        return arm
    member = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    treated = np.fromiter((not r[1] for r in rows), dtype=np.int8, count=len(rows))
    order = np.argsort(member)
    member, treated = member[order], treated[order]
    pos = np.clip(np.searchsorted(member, ids), 0, len(member) - 1)
    hit = member[pos] == ids
    arm[hit] = treated[pos[hit]]
    return arm


def usable(y: np.ndarray, arm: np.ndarray) -> bool:
    return all(int((arm == a).sum()) >= MIN_ARM and int(y[arm == a].sum()) >= MIN_CHURNERS for a in (0, 1))


def qini(y: np.ndarray, treated: np.ndarray, uplift: np.ndarray, points: int = 10) -> dict:
    """Churners prevented when contacting the top share by uplift (hold-out churn rate scaled to
    the treated count, minus treated churners), at `points` shares; the coefficient is the mean
    gap to random targeting, per treated member (0 = no better than random)."""
    order = np.argsort(-uplift, kind="stable")
    t, yy = treated[order].astype(bool), y[order].astype(np.float64)
    n_t, n_c = np.cumsum(t), np.cumsum(~t)
    ch_t, ch_c = np.cumsum(yy * t), np.cumsum(yy * ~t)
    prevented = np.where(n_c > 0, ch_c * n_t / np.maximum(n_c, 1), 0.0) - ch_t
    shares = np.linspace(0, 1, points + 1)[1:]
    at = np.maximum(1, np.round(shares * len(y)).astype(int)) - 1
    total = float(prevented[-1])
    curve = [
        {"share": round(float(s), 2), "prevented": round(float(prevented[i]), 2), "random": round(float(s * total), 2)}
        for s, i in zip(shares, at, strict=False)
    ]
    gap = float(np.mean([c["prevented"] - c["random"] for c in curve]))
    return {"curve": curve, "coefficient": round(gap / max(1, int(n_t[-1])), 4), "prevented_if_all": round(total, 2)}


def fit(X: np.ndarray, y: np.ndarray, arm: np.ndarray, ids: np.ndarray) -> tuple[UpliftModel, dict]:
    """Fit the pair on campaign members (arm >= 0): Qini on an id-hash hold-out of the members,
    then both arms refitted on every member for production."""
    members = arm >= 0
    Xm, ym, am, im = X[members], y[members].astype(np.int64), arm[members], ids[members]
    held = (im * 2654435761 % 1000) < HOLD_OUT_SHARE * 1000
    n = X.shape[1]

    def pair(rows: np.ndarray) -> UpliftModel:
        with cpu_limits():
            t = build(CONFIG, n, 0).fit(Xm[rows & (am == 1)], ym[rows & (am == 1)])
            c = build(CONFIG, n, 0).fit(Xm[rows & (am == 0)], ym[rows & (am == 0)])
        return UpliftModel(CONFIG, t, c)

    metrics: dict = {
        "model": f"two-model ({CONFIG.name})",
        "treated": int((am == 1).sum()),
        "holdout": int((am == 0).sum()),
        "churn_treated": round(float(ym[am == 1].mean()), 4),
        "churn_holdout": round(float(ym[am == 0].mean()), 4),
    }
    if usable(ym[~held], am[~held]) and (am[held] == 0).any() and (am[held] == 1).any():
        first = pair(~held)
        metrics["qini"] = {**qini(ym[held], am[held] == 1, first.predict(Xm[held])), "rows": int(held.sum())}
    return pair(np.ones(len(ym), dtype=bool)), metrics
