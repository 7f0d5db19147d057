"""Shares of studies and tests of whether they differ, for every comparison of studies along a dimension.

The input is plain counts: for each value of a dimension (a form of collaboration, a goal …) how many of each
study's collaborations have it, and each study's number of collaborations. For each value and study this gives
the share with a Wilson 95 % interval; for each value, a test of equal shares across the studies on the
(has the value, has it not) x study table: Pearson's chi-square without continuity correction, or Fisher's exact
test when the table is 2 x 2 and an expected count is below 5. p-values are adjusted with Holm's method over
the dimension's values. Everything is computed by scipy and statsmodels; this module only arranges the tables.

Every number is a finite float or None (never NaN or infinity), so the answers go into JSON as they are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
from scipy.stats import chi2_contingency, fisher_exact
from scipy.stats.contingency import association, expected_freq
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from service.parameters import Text

CONFIDENCE = 0.95
SMALL_EXPECTED = 5.0  # an expected count below this in a 2 x 2 table calls for Fisher's exact test
CHI_SQUARE = "chi-square"
FISHER = "fisher"

NOTE = Text(
    sv="Kodade observationer från samma fokusgrupp är inte oberoende av varandra, så testet beskriver skillnaden "
    "mellan studierna snarare än bevisar den. p-värdena är justerade med Holms metod över dimensionens värden.",
    en="Coded observations from one focus group are not independent of each other, so the test describes the "
    "difference between the studies rather than proving it. p-values are adjusted with Holm's method over the "
    "dimension's values.",
)


@dataclass(frozen=True)
class Share:
    """How many of one study's collaborations have the value; share and interval are fractions from 0 to 1.

    A study without collaborations (total 0) has no share: share and interval are None.
    """

    count: int
    total: int
    share: float | None
    ci_low: float | None
    ci_high: float | None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ProportionTest:
    """A test of equal shares of one value across the studies.

    `statistic` is Pearson's chi-square, or for Fisher's test the sample odds ratio: the odds of the value in the
    first study over those in the second (of the studies that have collaborations). None when that ratio is
    infinite: the second study has no collaboration with the value, or every collaboration of the first has it.
    """

    test: str  # CHI_SQUARE or FISHER
    statistic: float | None
    p_value: float
    p_adjusted: float
    cramers_v: float

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ValueStatistics:
    """One value of the dimension: each study's share, and the test across the studies (or why there is none)."""

    shares: tuple[Share, ...]
    test: ProportionTest | None
    untested: str | None  # why there is no test, in plain words

    def as_json(self) -> dict[str, Any]:
        tested: dict[str, Any] = (
            self.test.as_json() if self.test is not None else dict.fromkeys(f.name for f in fields(ProportionTest))
        )
        return {"shares": [share.as_json() for share in self.shares], **tested, "untested": self.untested}


def _fraction(value: Any) -> float:
    """A float from 0 to 1 (Wilson bounds can stray a rounding error outside)."""
    return min(1.0, max(0.0, float(value)))


def share(count: int, total: int) -> Share:
    if total < 0 or not 0 <= count <= total:
        raise ValueError(f"a count must lie between 0 and the study's total; got {count} of {total}")
    if total == 0:
        return Share(count, total, None, None, None)
    low, high = proportion_confint(count, total, alpha=1 - CONFIDENCE, method="wilson")
    return Share(count, total, count / total, _fraction(low), _fraction(high))


@dataclass(frozen=True)
class _Unadjusted:
    test: str
    statistic: float | None
    p_value: float
    cramers_v: float


def _test(counts: Sequence[int], totals: Sequence[int]) -> _Unadjusted | str:
    """The test on the 2 x k table of the studies that have collaborations, or why it cannot be made."""
    studies = tuple(i for i, total in enumerate(totals) if total > 0)
    if len(studies) < 2:
        return "fewer than two of the studies have collaborations"
    table = np.array([[counts[i] for i in studies], [totals[i] - counts[i] for i in studies]])
    if not table[0].any():
        return "none of the studies' collaborations has this value"
    if not table[1].any():
        return "every collaboration of the studies has this value"
    chi2 = chi2_contingency(table, correction=False)
    cramers_v = float(association(table, method="cramer", correction=False))
    if table.shape == (2, 2) and float(expected_freq(table).min()) < SMALL_EXPECTED:
        fisher = fisher_exact(table)
        odds_ratio = float(fisher.statistic)
        return _Unadjusted(FISHER, odds_ratio if math.isfinite(odds_ratio) else None, float(fisher.pvalue), cramers_v)
    return _Unadjusted(CHI_SQUARE, float(chi2.statistic), float(chi2.pvalue), cramers_v)


def compare_shares(counts: Sequence[Sequence[int]], totals: Sequence[int]) -> list[ValueStatistics]:
    """Shares and tests for each value: `counts[v][s]` collaborations of study s have value v; `totals[s]` it has.

    Holm's adjustment runs over the values that could be tested; the others carry the reason in `untested`.
    Raises ValueError for a row of the wrong length or a count outside 0…total.
    """
    for row in counts:
        if len(row) != len(totals):
            raise ValueError(f"each value needs one count per study ({len(totals)}); got {len(row)}")
    shares = [tuple(share(count, total) for count, total in zip(row, totals, strict=True)) for row in counts]
    tests = [_test(row, totals) for row in counts]
    done = [t for t in tests if isinstance(t, _Unadjusted)]
    adjusted = iter(multipletests([t.p_value for t in done], method="holm")[1] if done else [])
    result = []
    for row_shares, found in zip(shares, tests, strict=True):
        if isinstance(found, str):
            result.append(ValueStatistics(row_shares, None, found))
            continue
        test = ProportionTest(found.test, found.statistic, found.p_value, _fraction(next(adjusted)), found.cramers_v)
        result.append(ValueStatistics(row_shares, test, None))
    return result
