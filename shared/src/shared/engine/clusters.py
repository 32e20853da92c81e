"""Stage: behavioural clusters (seed 003: "根据消费行为聚类进行有效的市场细分").

k-means (scikit-learn) over log-scaled, standardised usage features, fitted on a deterministic
sample of at most `clusters.sample` customers (every n-th id). Only the sample (≤ 50k × 10
floats) is ever in Python. Assignment of every customer to its nearest centroid happens in SQL in
the profiles stage (`assignment_sql`). A refit starts from the previous centroids, so cluster
ids keep their meaning from night to night and a rerun on unchanged data changes nothing.
Within a usage month the centroids are kept (refit when the next month's bills arrive): a daily
refit would move every customer's distances and make every profile change.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import TypedDict

import numpy as np
from sklearn.cluster import KMeans
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.transactions import own_transaction
from shared.engine.features import latest_usage_month
from shared.engine.jobs import RunContext
from shared.programme import settings as programme_settings

# (name, SQL over customer_features f, Chinese label for descriptions)
FEATURES: list[tuple[str, str, str]] = [
    ("arpu", "ln(1 + f.arpu_fen)", "月消费"),
    ("voice", "ln(1 + f.voice_min)", "通话分钟"),
    ("data", "ln(1 + f.data_mb)", "流量"),
    ("sms", "ln(1 + f.sms)", "短信"),
    ("payg_data", "ln(1 + f.payg_data_3m_fen)", "套外流量费"),
    ("roaming_ld", "ln(1 + f.roaming_ld_3m_fen)", "漫游长途费"),
    ("broadband", "ln(1 + f.broadband_gb)", "宽带用量"),
    ("active_days", "f.active_days", "活跃天数"),
    ("data_use", "least(f.data_use_ratio, 3)", "流量饱和度"),
    ("voice_use", "least(f.voice_use_ratio, 3)", "语音饱和度"),
]


def scaled_vector_sql() -> str:
    """SQL array of the customer's scaled features; `:cl_mean_j` / `:cl_std_j` are bound."""
    parts = [f"(({expr}) - :cl_mean_{j}) / :cl_std_{j}" for j, (_, expr, _) in enumerate(FEATURES)]
    return "ARRAY[" + ", ".join(f"CAST({p} AS float8)" for p in parts) + "]"


async def assignment_sql(session: AsyncSession) -> tuple[str, str, dict[str, float]] | None:
    """(distance LATERAL clause, nearest-cluster expression, bound params) for the profiles stage.

    Centroids are bound as parameters and each customer's squared distances are computed once in
    a LATERAL row (`dd`); the nearest is picked with least() — no per-customer subquery. Ties go
    to the lowest cluster id. None when no clusters were fitted yet.
    """
    rows = (
        await session.execute(text("SELECT cluster_id, centroid, scaler FROM behaviour_clusters ORDER BY cluster_id"))
    ).all()
    if not rows:
        return None
    scaler = rows[0].scaler
    params: dict[str, float] = {}
    for j in range(len(FEATURES)):
        params[f"cl_mean_{j}"] = float(scaler["mean"][j])
        params[f"cl_std_{j}"] = float(scaler["std"][j])
    dists = []
    for i, row in enumerate(rows):
        terms = []
        for j in range(len(FEATURES)):
            params[f"cl_c_{i}_{j}"] = float(row.centroid[j])
            terms.append(f"power(zv.z[{j + 1}] - CAST(:cl_c_{i}_{j} AS float8), 2)")
        dists.append(f"{' + '.join(terms)} AS d{i}")
    # OFFSET 0 keeps the planner from inlining the row (it would recompute every distance per use)
    lateral = "CROSS JOIN LATERAL (SELECT " + ", ".join(dists) + " OFFSET 0) dd"
    nearest = "least(" + ", ".join(f"dd.d{i}" for i in range(len(rows))) + ")"
    expr = "CASE " + " ".join(f"WHEN dd.d{i} = {nearest} THEN {int(r.cluster_id)}" for i, r in enumerate(rows)) + " END"
    return lateral, expr, params


class Feature(TypedDict):
    """One feature of a cluster's description (stored as JSON on the cluster row)."""

    feature: str
    label: str
    z: float
    direction: str


def describe(centroid: np.ndarray) -> tuple[list[Feature], str]:
    """Distinguishing features: z-score of the centroid against the population, largest first."""
    items = sorted(
        (
            Feature(
                feature=FEATURES[j][0], label=FEATURES[j][2], z=round(float(z), 2), direction="high" if z > 0 else "low"
            )
            for j, z in enumerate(centroid)
        ),
        key=lambda d: -abs(d["z"]),
    )
    strong = [d for d in items if abs(d["z"]) >= 0.5][:3] or items[:2]
    label = "、".join(f"{'高' if d['direction'] == 'high' else '低'}{d['label']}" for d in strong)
    return items, label


async def run(ctx: RunContext) -> int:

    names = [name for name, _, _ in FEATURES]
    async with ctx.sm() as s:
        cfg = await programme_settings.get(s, "clusters")
        usage_month = await latest_usage_month(s, ctx.run_date)
        k = int(cfg["k"])
        previous = (
            await s.execute(
                text(
                    "SELECT cluster_id, centroid, features, scaler, label, label_edited FROM behaviour_clusters ORDER BY cluster_id"
                )
            )
        ).all()
        if (
            len(previous) == k
            and all(p.features == names for p in previous)
            and previous[0].scaler.get("usage_month") == usage_month.isoformat()
            and previous[0].scaler.get("sample") == int(cfg["sample"])
        ):
            # segments move with the month's bills, not with a day's changes: a daily refit would
            # move every customer's distances a little, and every profile would be recomputed
            ctx.notes["clusters"] = "fitted for this usage month: centroids kept"
            return 0
        total = int(await s.scalar(text("SELECT count(*) FROM customer_features")) or 0)
        if total < k * 5:
            ctx.notes["clusters"] = "too few customers to cluster"
            return 0
        step = max(1, math.ceil(total / int(cfg["sample"])))
        cols = ", ".join(f"CAST({expr} AS float8)" for _, expr, _ in FEATURES)
        rows = (
            await s.execute(
                text(f"SELECT {cols} FROM customer_features f WHERE f.customer_id % :step = 0 ORDER BY f.customer_id"),
                {"step": step},
            )
        ).all()
    x = np.asarray(rows, dtype=float)
    if len(x) < k * 5:
        ctx.notes["clusters"] = "sample too small"
        return 0
    fingerprint = hashlib.sha256(np.round(x, 6).tobytes() + str(k).encode()).hexdigest()[:32]
    if previous and len(previous) == k and previous[0].scaler.get("sample_sha") == fingerprint:
        ctx.notes["clusters"] = "sample unchanged: centroids kept"
        return 0
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    std[std < 1e-9] = 1.0
    z = (x - mean) / std
    if len(previous) == k and all(p.features == names for p in previous):
        # Warm start in the previous run's scaled space mapped into today's: ids keep their meaning.
        old_mean = np.asarray(previous[0].scaler["mean"])
        old_std = np.asarray(previous[0].scaler["std"])
        init = (np.asarray([p.centroid for p in previous]) * old_std + old_mean - mean) / std
        model = KMeans(n_clusters=k, init=init, n_init=1, random_state=0, max_iter=300).fit(z)
    else:
        model = KMeans(n_clusters=k, n_init=4, random_state=0, max_iter=300).fit(z)
    centroids = np.round(model.cluster_centers_, 6)
    edited = {p.cluster_id: p.label for p in previous if p.label_edited}
    scaler = {
        "mean": [round(float(v), 6) for v in mean],
        "std": [round(float(v), 6) for v in std],
        "sample_sha": fingerprint,
        "usage_month": usage_month.isoformat(),
        "sample": int(cfg["sample"]),
    }
    async with own_transaction(ctx.sm) as s:
        await s.execute(text("DELETE FROM behaviour_clusters WHERE cluster_id >= :k"), {"k": k})
        for cid, centroid in enumerate(centroids):
            desc, label = describe(centroid)
            await s.execute(
                text(
                    """
                    INSERT INTO behaviour_clusters (cluster_id, features, scaler, centroid, description, label, sample_size)
                    VALUES (:id, CAST(:features AS jsonb), CAST(:scaler AS jsonb), :centroid, CAST(:description AS jsonb), :label, :n)
                    ON CONFLICT (cluster_id) DO UPDATE SET features = EXCLUDED.features, scaler = EXCLUDED.scaler,
                        centroid = EXCLUDED.centroid, description = EXCLUDED.description, sample_size = EXCLUDED.sample_size,
                        label = CASE WHEN behaviour_clusters.label_edited THEN behaviour_clusters.label ELSE EXCLUDED.label END,
                        fitted_at = now()
                    WHERE (behaviour_clusters.centroid, behaviour_clusters.scaler, behaviour_clusters.features)
                          IS DISTINCT FROM (EXCLUDED.centroid, EXCLUDED.scaler, EXCLUDED.features)
                    """
                ),
                {
                    "id": cid,
                    "features": json.dumps(names),
                    "scaler": json.dumps(scaler),
                    "centroid": [float(v) for v in centroid],
                    "description": json.dumps(desc, ensure_ascii=False),
                    "label": edited.get(cid, label),
                    "n": len(x),
                },
            )
    ctx.notes["clusters"] = {"k": k, "sample": len(x)}
    return k


async def refresh_populations(ctx: RunContext) -> None:
    async with own_transaction(ctx.sm) as s:
        await s.execute(
            text(
                """
            UPDATE behaviour_clusters k SET population = coalesce(x.n, 0)
            FROM behaviour_clusters k2
            LEFT JOIN (SELECT cluster_id, count(*) AS n FROM customer_profiles GROUP BY cluster_id) x
              ON x.cluster_id = k2.cluster_id
            WHERE k.cluster_id = k2.cluster_id AND k.population IS DISTINCT FROM coalesce(x.n, 0)
            """
            )
        )
