"""A wave repeating another wave's questionnaires is flagged before import (issue 18), in the plan and on the command line."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.cli import main as cli
from analysis.data.duplicates import DuplicateWave, duplicate_waves, wave_fingerprints
from analysis.data.importing import prepare_import
from tests.upload_support import NEW_WAVE, STORED_WAVE, survey_csv

ANSWERS = ["满意", "比较满意", "一般", "不太满意", "不满意"]


def wave(name: str, n: int, prefix: str = "R", shift: int = 0) -> pd.DataFrame:
    """n questionnaires: IDs prefix001…, answers cycling through the five levels (shifted by `shift`)."""
    return pd.DataFrame({"wave": name, "respondent_id": [f"{prefix}{i:03d}" for i in range(1, n + 1)],
                         "overall": [ANSWERS[(i + shift) % 5] for i in range(1, n + 1)]})


def test_fingerprint_is_per_wave_and_ignores_row_order():
    one = wave("2026年第1季度", 30)
    prints = wave_fingerprints(pd.concat([one, one.iloc[::-1].assign(wave="2026年第2季度")]))
    assert list(prints) == ["2026年第1季度", "2026年第2季度"]
    assert (prints["2026年第1季度"] == prints["2026年第2季度"]).all() and len(prints["2026年第1季度"]) == 30


@pytest.mark.parametrize("new, stored, expected", [
    # The same 30 questionnaires under a new wave name: flagged, naming the stored wave.
    (wave("2026年第3季度", 30), wave("2026年第2季度", 30), [DuplicateWave("2026年第3季度", "2026年第2季度", 30, 30, True)]),
    # 27 of 30 repeat (exactly 90%): flagged; 26 of 30 (86.7%) is not.
    (pd.concat([wave("Q3", 27), wave("Q3", 3, "X")]), wave("Q2", 30), [DuplicateWave("Q3", "Q2", 27, 30, True)]),
    (pd.concat([wave("Q3", 26), wave("Q3", 4, "X")]), wave("Q2", 30), []),
    # Same IDs (numbering restarts each wave) but different answers: a new survey, not a copy.
    (wave("Q3", 30, shift=1), wave("Q2", 30), []),
    # Same answers, different IDs: not a copy either.
    (wave("Q3", 30, prefix="N"), wave("Q2", 30), []),
    # The same wave name again is a replacement, confirmed separately, not a duplicate.
    (wave("Q2", 30), wave("Q2", 30), []),
    # Fewer than 20 questionnaires: too few to tell a copy from chance.
    (wave("Q3", 19), wave("Q2", 19), []),
    # Nothing stored yet.
    (wave("Q3", 30), wave("Q2", 0), []),
])
def test_duplicate_against_stored_waves(new, stored, expected):
    assert duplicate_waves(new, stored) == expected


def test_within_one_file_the_later_wave_repeats_the_earlier():
    # Listed out of time order on purpose: 第4季度 repeats 第3季度, never the other way round.
    frame = pd.concat([wave("2026年第4季度", 25), wave("2026年第3季度", 25)])
    assert duplicate_waves(frame, wave("2026年第1季度", 0)) == [DuplicateWave("2026年第4季度", "2026年第3季度", 25, 25, False)]


def test_the_wave_sharing_most_is_named_and_stored_wins_a_tie():
    stored = pd.concat([wave("2026年第1季度", 28), wave("2026年第2季度", 30)])
    assert duplicate_waves(wave("2026年第3季度", 30), stored)[0].earlier == "2026年第2季度"
    both = pd.concat([wave("2026年第1季度", 30), wave("2026年第2季度", 30)])
    assert duplicate_waves(both, wave("2025年第4季度", 30)) == [
        DuplicateWave("2026年第1季度", "2025年第4季度", 30, 30, True), DuplicateWave("2026年第2季度", "2025年第4季度", 30, 30, True)]


def test_warning_text_names_the_earlier_wave():
    text = DuplicateWave("2026年第3季度", "2026年第2季度", 433, 433, True).text()
    assert text.startswith("2026年第3季度 的 433 份问卷中有 433 份（受访者编号与总体满意度答案都相同）与数据库中已有的 2026年第2季度 重复")


def test_prepare_import_flags_a_relabelled_copy(base_db, settings):
    from analysis.data import store

    engine = store.connect(base_db)
    copy = prepare_import(survey_csv(35, NEW_WAVE).encode("utf-8-sig"), "新批次.csv", "responses", settings, engine)
    assert copy.duplicates == [DuplicateWave(NEW_WAVE, STORED_WAVE, 35, 35, True)]
    fresh = prepare_import(survey_csv(35, NEW_WAVE, prefix="N").encode("utf-8-sig"), "新批次.csv", "responses", settings, engine)
    assert fresh.duplicates == []


def test_cli_import_prints_the_warning(base_db, tmp_path, capsys):
    path = tmp_path / "新批次.csv"
    path.write_bytes(survey_csv(35, NEW_WAVE).encode("utf-8-sig"))
    assert cli.main(["import", str(path), "--kind", "responses", "--db", str(base_db)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert f"警告：{NEW_WAVE} 的 35 份问卷中有 35 份（受访者编号与总体满意度答案都相同）与数据库中已有的 {STORED_WAVE} 重复，" \
           "可能是同一批数据再次上传或批次名称填错。请核对；确认不是重复数据后再导入。" in err
