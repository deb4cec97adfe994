"""ui.data's caches: what is computed from one import is reused after later imports."""

import pandas as pd

from analysis.data import store
from analysis.data.contract import responses_kind
from analysis.data.importing import commit_import, prepare_import
from tests.upload_support import NEW_WAVE, survey_csv
from ui import data
from ui.caching import clear_views


def test_a_new_wave_reads_only_the_new_import(base_db, settings, monkeypatch):
    clear_views()
    engine = store.connect(base_db)
    real = store.answer_counts
    asked: list[int | None] = []

    def counting(engine, kind, column="overall", import_id=None):
        asked.append(import_id)
        return real(engine, kind, column, import_id)

    monkeypatch.setattr(store, "answer_counts", counting)
    (first, *_), = store.active_imports(engine, "responses")
    data.answer_counts(data.version())
    assert asked == [first]

    plan = prepare_import(survey_csv(40, NEW_WAVE).encode("utf-8-sig"), "新批次.csv", "responses", settings, engine)
    commit_import(engine, plan, "小李")
    counts = data.answer_counts(data.version())
    new = store.active_imports(engine, "responses")[-1][0]
    assert asked == [first, new]  # the stored wave's counts came from the cache
    whole = real(engine, responses_kind(settings.items))
    key = ["wave", "county", "overall"]
    pd.testing.assert_frame_equal(counts, whole.sort_values(key).reset_index(drop=True), check_dtype=False)
    assert sorted(data.waves(data.version())) == sorted({*whole["wave"]})


def published_csv(settings, waves) -> bytes:
    """The city's published table for every county in `waves` (scores 90, 89, …; rank by score)."""
    lines = ["测评批次,县区,得分,名次"] + [f"{w},{c},{90 - i},{i + 1}" for w in waves for i, c in enumerate(settings.counties)]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8-sig")


def test_a_new_wave_leaves_older_waves_rankings_cached(base_db, settings, monkeypatch):
    clear_views()
    engine = store.connect(base_db)
    (_, _, stored_wave, _), = store.active_imports(engine, "responses")
    # The base database holds two counties' respondents: the rest come from the city's published table (mixed basis).
    commit_import(engine, prepare_import(published_csv(settings, [stored_wave, NEW_WAVE]), "公布.csv", "published", settings, engine), "小李")
    before = data.wave_ranking(data.version(), stored_wave)
    simulated: list[int] = []
    real = data.ranked_wave
    monkeypatch.setattr(data, "ranked_wave", lambda table, *a, **k: simulated.append(len(table)) or real(table, *a, **k))
    plan = prepare_import(survey_csv(40, NEW_WAVE).encode("utf-8-sig"), "新批次.csv", "responses", settings, engine)
    commit_import(engine, plan, "小李")
    again = data.wave_ranking(data.version(), stored_wave)
    assert simulated == []  # same scores, same simulation: served from the cache
    pd.testing.assert_frame_equal(again.table, before.table)
    data.wave_ranking(data.version(), NEW_WAVE)
    assert simulated == [len(settings.counties)]  # the new wave (one county surveyed, the rest published) once
