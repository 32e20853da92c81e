"""The nightly run on a planted city: each stage finds what was planted, and a rerun changes nothing."""

from __future__ import annotations

from sqlalchemy import text

from shared.engine.runner import WRITTEN_TABLES, run_status
from tests.shared.engine.conftest import RUN_STAGES, City, run, snapshot


async def _rows(sm, sql: str, **params):  # type: ignore[no-untyped-def]
    async with sm() as s:
        return (await s.execute(text(sql), params)).all()


async def _flagged(sm, city: City, kind: str) -> set[int]:  # type: ignore[no-untyped-def]
    rows = await _rows(
        sm,
        "SELECT customer_id FROM four_high_flags WHERE kind = :k AND period = :d "
        "AND customer_id > :lo AND customer_id <= :hi",
        k=kind,
        d=city.run_date,
        lo=city.lo,
        hi=city.hi,
    )
    return {r[0] for r in rows}


class TestPlanted:
    async def test_run_recorded_with_every_stage(self, sm, city: City) -> None:
        async with sm() as s:
            last = await s.scalar(text("SELECT max(id) FROM engine_runs WHERE status = 'done'"))
            status = await run_status(s, last)
        assert status is not None and status["status"] == "done"
        done = {st["stage"]: st for st in status["stages"] if st["status"] == "done"}
        assert {"features", "tiers", "four_high", "profiles", "tags", "strategies", "assignment", "care_tasks"} <= set(
            done
        )
        assert done["features"]["rows"] >= city.n

    async def test_features_cover_every_customer(self, sm, city: City) -> None:
        rows = await _rows(
            sm,
            "SELECT count(*), count(*) FILTER (WHERE months_of_usage = 6) FROM customer_features "
            "WHERE customer_id > :lo AND customer_id <= :hi",
            lo=city.lo,
            hi=city.hi,
        )
        assert rows[0] == (city.n, city.n)

    async def test_four_high_kinds_flag_exactly_the_planted(self, sm, city: City) -> None:
        assert set(city.planted("payg")) <= await _flagged(sm, city, "payg_data")
        assert set(city.planted("tariff")) <= await _flagged(sm, city, "tariff")
        # dormant lines (2 active days, no idle paid service) are low-frequency, not high silence
        assert not set(city.planted("silent")) & await _flagged(sm, city, "silence")
        assert set(city.planted("arpu_mismatch")) <= await _flagged(sm, city, "arpu_mismatch")
        ordinary = set(city.ordinary())
        for kind in ("payg_data", "tariff", "silence", "arpu_mismatch"):
            assert not (await _flagged(sm, city, kind)) & ordinary, kind

    async def test_monthly_flags_exist_too(self, sm, city: City) -> None:
        rows = await _rows(
            sm, "SELECT DISTINCT period FROM four_high_flags WHERE customer_id = :c", c=city.planted("payg")[0]
        )
        assert len(rows) == 2  # the run day and the usage month

    async def test_drifters_are_declining_potential_loss(self, sm, city: City) -> None:
        rows = await _rows(
            sm,
            "SELECT customer_id, lifecycle_stage, segment, sub_segment FROM customer_profiles "
            "WHERE customer_id = ANY(:ids)",
            ids=city.planted("drifter"),
        )
        assert len(rows) == len(city.planted("drifter"))
        assert all(
            r.lifecycle_stage == "decline" and r.segment == "potential_loss" and r.sub_segment == "tariff" for r in rows
        )
        tagged = await _rows(
            sm,
            "SELECT ct.customer_id FROM customer_tag_sets ct JOIN tag_definitions t ON t.id = ANY(ct.tag_ids) "
            "WHERE t.code = 'competitor_caller' AND ct.customer_id > :lo AND ct.customer_id <= :hi",
            lo=city.lo,
            hi=city.hi,
        )
        assert {r[0] for r in tagged} == set(city.planted("drifter"))

    async def test_network_complainers_need_network_repair(self, sm, city: City) -> None:
        rows = await _rows(
            sm, "SELECT sub_segment FROM customer_profiles WHERE customer_id = ANY(:ids)", ids=city.planted("network")
        )
        assert {r[0] for r in rows} == {"network"}

    async def test_vips_are_diamond_and_ordinary_are_not_vip(self, sm, city: City) -> None:
        rows = await _rows(sm, "SELECT tier FROM customers WHERE id = ANY(:ids)", ids=city.planted("vip"))
        assert {r[0] for r in rows} == {"diamond"}
        rows = await _rows(
            sm,
            "SELECT count(*) FILTER (WHERE f.arpu_6m_fen < 12000 AND c.tier IN ('star5', 'gold', 'diamond')), "
            "count(*) FILTER (WHERE f.tenure_months < 12 AND c.tier <> 'star1') "
            "FROM customers c JOIN customer_features f ON f.customer_id = c.id "
            "WHERE c.id > :lo AND c.id <= :hi",
            lo=city.lo,
            hi=city.hi,
        )
        assert tuple(rows[0]) == (0, 0)

    async def test_silent_users_are_low_frequency_value_loss(self, sm, city: City) -> None:
        rows = await _rows(
            sm,
            "SELECT segment, sub_segment FROM customer_profiles WHERE customer_id = ANY(:ids)",
            ids=city.planted("silent"),
        )
        assert {tuple(r) for r in rows} == {("value_loss", "low_frequency")}

    async def test_every_customer_has_a_cluster_and_clusters_are_described(self, sm, city: City) -> None:
        rows = await _rows(
            sm,
            "SELECT count(*) FILTER (WHERE cluster_id IS NULL) FROM customer_profiles "
            "WHERE customer_id > :lo AND customer_id <= :hi",
            lo=city.lo,
            hi=city.hi,
        )
        assert rows[0][0] == 0
        clusters = await _rows(sm, "SELECT label, description FROM behaviour_clusters")
        assert len(clusters) >= 2 and all(c.label and len(c.description) == 10 for c in clusters)

    async def test_tag_catalogue_and_bulk_tags(self, sm, city: City) -> None:
        rows = await _rows(sm, "SELECT family, count(*) FROM tag_definitions WHERE builtin GROUP BY family")
        counts = dict(rows)
        assert sum(counts.values()) >= 150 and set(counts) == {"basic", "stability", "preference", "channel"}
        rows = await _rows(
            sm,
            "SELECT count(*) FROM customer_tag_sets WHERE customer_id > :lo AND customer_id <= :hi AND cardinality(tag_ids) > 0",
            lo=city.lo,
            hi=city.hi,
        )
        assert rows[0][0] == city.n
        # stored arrays are sorted and duplicate-free (equality in the diff relies on it)
        rows = await _rows(
            sm,
            "SELECT count(*) FROM customer_tag_sets WHERE tag_ids <> "
            "ARRAY(SELECT DISTINCT t FROM unnest(tag_ids) t ORDER BY t)",
        )
        assert rows[0][0] == 0
        # each definition's count is what the sets hold after the run
        rows = await _rows(
            sm,
            "SELECT d.code, d.customers, d.counted_at IS NOT NULL, "
            "(SELECT count(*) FROM customer_tag_sets s WHERE d.id = ANY(s.tag_ids)) "
            "FROM tag_definitions d WHERE d.code IN ('competitor_caller', 'arpu_band_1', 'tenure_band_2', 'age_band_3')",
        )
        assert rows and all(r[1] == r[3] and r[2] for r in rows)
        assert sum(r[1] for r in rows) > 0

    async def test_recommendations_respect_do_not_disturb(self, sm, city: City) -> None:
        dnd = [city.start + k for k in range(1, city.n + 1) if k % 50 == 49]
        rows = await _rows(
            sm,
            "SELECT count(*) FROM recommendations WHERE customer_id = ANY(:ids) AND status = 'open' "
            "AND channel IN ('outbound_call', 'sms', 'app_push')",
            ids=dnd,
        )
        assert rows[0][0] == 0
        rows = await _rows(
            sm,
            "SELECT count(DISTINCT customer_id) FROM recommendations WHERE customer_id = ANY(:ids) "
            "AND status = 'open' AND strategy_id IS NOT NULL",
            ids=city.planted("payg"),
        )
        assert rows[0][0] == len(city.planted("payg"))

    async def test_recommendations_use_the_preferred_channel(self, sm, city: City) -> None:
        """Issue 14 item 6: the offer goes out on the customer's preferred channel, falling back to
        the strategy's (or the in-app one) only where that channel may not carry it (do-not-disturb)."""
        rows = await _rows(
            sm,
            "SELECT count(*) FILTER (WHERE r.channel = p.preferred_channel), "
            "count(*) FILTER (WHERE r.channel <> p.preferred_channel AND NOT (f.do_not_disturb "
            "AND p.preferred_channel IN ('outbound_call', 'sms', 'app_push', 'manager_call', 'manager_visit'))) "
            "FROM recommendations r JOIN customer_profiles p ON p.customer_id = r.customer_id "
            "JOIN customer_features f ON f.customer_id = r.customer_id "
            "WHERE r.customer_id > :lo AND r.customer_id <= :hi AND r.status = 'open' AND r.strategy_id IS NOT NULL "
            "AND p.preferred_channel IS NOT NULL",
            lo=city.lo,
            hi=city.hi,
        )
        assert rows[0][0] > 0 and rows[0][1] == 0

    async def test_vips_assigned_within_branch_and_get_care_tasks(self, sm, city: City) -> None:
        rows = await _rows(
            sm,
            "SELECT a.customer_id, c.branch_id, s.org_unit_id FROM manager_assignments a "
            "JOIN customers c ON c.id = a.customer_id JOIN staff_users s ON s.id = a.manager_id "
            "WHERE a.customer_id = ANY(:ids)",
            ids=city.planted("vip"),
        )
        assert len(rows) == len(city.planted("vip")) and all(r[1] == r[2] for r in rows)
        tasks = await _rows(
            sm, "SELECT DISTINCT kind FROM care_tasks WHERE customer_id = ANY(:ids)", ids=city.planted("vip")
        )
        assert "routine" in {t[0] for t in tasks}


class TestRerun:
    async def test_rerun_changes_nothing(self, sm, engine, city: City) -> None:
        before = await snapshot(sm, city)
        await run(engine, city)
        after = await snapshot(sm, city)
        assert before == after

    async def test_a_run_leaves_what_it_wrote_vacuumed(self, sm, engine, city: City) -> None:
        """The morning's lists read the night's tables through index-only scans: every table a
        stage wrote is vacuumed when the run is done, and its pages are all visible again."""
        async with sm() as s:
            started = await s.scalar(text("SELECT clock_timestamp()"))
        await run(engine, city)
        written = sorted({t for stage in RUN_STAGES for t in WRITTEN_TABLES.get(stage, [])})
        assert {"customer_profiles", "manager_assignments", "care_tasks", "customer_tag_sets"} <= set(written)
        async with sm() as s:
            rows = (
                await s.execute(
                    text(
                        "SELECT relname, last_vacuum FROM pg_stat_user_tables WHERE relname = ANY(:t) ORDER BY relname"
                    ),
                    {"t": written},
                )
            ).all()
            hidden = await s.scalar(
                text("SELECT relpages - relallvisible FROM pg_class WHERE relname = 'manager_assignments'")
            )
        assert [r.relname for r in rows] == written
        assert all(r.last_vacuum is not None and r.last_vacuum >= started for r in rows), rows
        assert hidden == 0

    async def test_changed_behaviour_is_picked_up_with_tag_history(self, sm, engine, city: City) -> None:
        customer = city.ordinary()[0]
        async with sm.begin() as s:
            await s.execute(
                text(
                    "INSERT INTO competitor_calls (customer_id, called_at, competitor, duration_s) "
                    "VALUES (:c, now() - interval '2 days', 'telecom', 60)"
                ),
                {"c": customer},
            )
        await run(engine, city)
        rows = await _rows(
            sm,
            "SELECT h.event FROM customer_tag_history h JOIN tag_definitions t ON t.id = h.tag_id "
            "WHERE h.customer_id = :c AND t.code = 'competitor_caller'",
            c=customer,
        )
        assert [r[0] for r in rows] == ["gained"]
        prof = await _rows(
            sm, "SELECT segment, lifecycle_stage FROM customer_profiles WHERE customer_id = :c", c=customer
        )
        assert prof[0].segment == "potential_loss"
        async with sm.begin() as s:
            await s.execute(text("DELETE FROM competitor_calls WHERE customer_id = :c"), {"c": customer})
        await run(engine, city)
        rows = await _rows(
            sm,
            "SELECT h.event FROM customer_tag_history h JOIN tag_definitions t ON t.id = h.tag_id "
            "WHERE h.customer_id = :c AND t.code = 'competitor_caller' ORDER BY h.id",
            c=customer,
        )
        assert [r[0] for r in rows] == ["gained", "lost"]

    async def test_care_tasks_never_duplicated(self, sm, engine, city: City) -> None:
        async with sm() as s:
            before = await s.scalar(
                text("SELECT count(*) FROM care_tasks WHERE customer_id > :lo AND customer_id <= :hi"),
                {"lo": city.lo, "hi": city.hi},
            )
        await run(engine, city)
        async with sm() as s:
            after = await s.scalar(
                text("SELECT count(*) FROM care_tasks WHERE customer_id > :lo AND customer_id <= :hi"),
                {"lo": city.lo, "hi": city.hi},
            )
            dup = await s.scalar(
                text(
                    "SELECT count(*) FROM (SELECT customer_id, kind, due_on FROM care_tasks "
                    "WHERE customer_id > :lo AND customer_id <= :hi AND kind = 'routine' "
                    "GROUP BY 1, 2, 3 HAVING count(*) > 1) d"
                ),
                {"lo": city.lo, "hi": city.hi},
            )
        assert before == after and before > 0 and dup == 0
