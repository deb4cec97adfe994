"""A wave whose respondents and answers repeat another wave: the same survey uploaded again under a new wave name."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.data.waves import wave_sort_key

# A wave counts as a copy when at least this share of its questionnaires (respondent ID and overall answer) appear in
# the other wave. Waves that restart their IDs at 1 match by chance only on rows that also share the answer: with the
# most common answer at about half, 90% of 20 rows agreeing by chance has probability below 0.0002.
MIN_SHARE = 0.9
MIN_ROWS = 20
KEY_COLUMNS = ("respondent_id", "overall")


@dataclass(frozen=True)
class DuplicateWave:
    """A wave in the file that repeats another wave: `shared` of its `rows` questionnaires also appear there."""

    wave: str
    earlier: str
    shared: int
    rows: int
    stored: bool  # True: the other wave is already in the database; False: it is another wave of the same file

    def text(self) -> str:
        """The warning an analyst reads before confirming."""
        where = "数据库中已有的" if self.stored else "同一文件中的"
        return (f"{self.wave} 的 {self.rows:,} 份问卷中有 {self.shared:,} 份（受访者编号与总体满意度答案都相同）与{where} "
                f"{self.earlier} 重复，可能是同一批数据再次上传或批次名称填错。请核对；确认不是重复数据后再导入。")


def wave_fingerprints(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per wave, the sorted distinct hashes of (respondent ID, overall answer) — what identifies a questionnaire."""
    if frame.empty or not set(KEY_COLUMNS) <= set(frame.columns):
        return {}
    keys = frame[list(KEY_COLUMNS)].astype("string").fillna("")
    hashes = pd.util.hash_pandas_object(keys, index=False).to_numpy()
    waves = frame["wave"].astype("string").to_numpy()
    return {str(w): np.unique(hashes[waves == w]) for w in pd.unique(waves)}


def duplicate_waves(new: pd.DataFrame, stored: pd.DataFrame, min_share: float = MIN_SHARE,
                    min_rows: int = MIN_ROWS) -> list[DuplicateWave]:
    """Waves of `new` whose questionnaires repeat a stored wave of another name, or an earlier wave of the same file.

    A stored wave with the same name is not a duplicate: importing it again is a replacement, confirmed separately.
    Each wave of the file is reported once, against the wave it shares most with (a stored one first when tied).
    """
    if stored.empty and ("wave" not in new.columns or new["wave"].nunique() < 2):
        return []  # nothing to repeat: skip hashing a million questionnaires on the first import
    mine = wave_fingerprints(new)
    theirs = wave_fingerprints(stored)
    ordered = sorted(mine, key=wave_sort_key)
    found = []
    for position, wave in enumerate(ordered):
        prints = mine[wave]
        if len(prints) < min_rows:
            continue
        candidates = [(w, p, True) for w, p in theirs.items() if w != wave]
        candidates += [(w, mine[w], False) for w in ordered[:position]]  # within the file, the later wave repeats the earlier
        best = None
        for other, other_prints, is_stored in candidates:
            shared = int(np.isin(prints, other_prints, assume_unique=True).sum())
            if shared >= min_share * len(prints) and (best is None or shared > best.shared):
                best = DuplicateWave(wave, other, shared, len(prints), is_stored)
        if best is not None:
            found.append(best)
    return found
