"""Shares, Wilson intervals and tests of equal shares, on tables whose answers are known from the textbooks."""

from __future__ import annotations

import json
import math

import pytest
from scipy.stats import chi2_contingency, fisher_exact

from service.statistics import CHI_SQUARE, FISHER, compare_shares, share


def test_wilson_intervals_match_the_textbook_values() -> None:
    # Newcombe (1998), table I: 0/10 gives 0 to 0.2775 and 5/10 gives 0.2366 to 0.7634.
    none, half = share(0, 10), share(5, 10)
    assert (none.share, none.ci_low) == (0.0, 0.0)
    assert none.ci_high == pytest.approx(0.2775, abs=1e-4)
    assert half.share == 0.5
    assert (half.ci_low, half.ci_high) == pytest.approx((0.2366, 0.7634), abs=1e-4)


def test_three_studies_are_tested_with_pearsons_chi_square() -> None:
    # 10, 20 and 30 of 50 each: expected 20 and 30 per column, so chi-square is 5 + 0 + 5 + 10/3 + 0 + 10/3.
    [value] = compare_shares([[10, 20, 30]], [50, 50, 50])
    assert value.test is not None
    assert value.test.test == CHI_SQUARE
    assert value.test.statistic == pytest.approx(50 / 3)
    assert value.test.p_value == pytest.approx(math.exp(-50 / 6))  # two degrees of freedom: exp(-chi2 / 2)
    assert value.test.cramers_v == pytest.approx(1 / 3)  # sqrt(chi2 / n) = sqrt((50/3) / 150)
    assert [s.share for s in value.shares] == [0.2, 0.4, 0.6]


def test_a_two_by_two_table_with_a_small_expected_count_takes_fishers_exact_test() -> None:
    # Fisher's lady tasting tea: 3 of 4 and 1 of 4, two-sided p = 34/70, odds ratio (3·3)/(1·1).
    [value] = compare_shares([[3, 1]], [4, 4])
    assert value.test is not None
    assert value.test.test == FISHER
    assert value.test.statistic == pytest.approx(9.0)
    assert value.test.p_value == pytest.approx(34 / 70)
    chi2 = chi2_contingency([[3, 1], [1, 3]], correction=False)
    assert value.test.cramers_v == pytest.approx(math.sqrt(chi2.statistic / 8))


def test_a_large_two_by_two_table_keeps_chi_square_without_continuity_correction() -> None:
    [value] = compare_shares([[30, 10]], [50, 50])
    expected = chi2_contingency([[30, 10], [20, 40]], correction=False)
    assert value.test is not None
    assert value.test.test == CHI_SQUARE
    assert value.test.statistic == pytest.approx(expected.statistic)
    assert value.test.p_value == pytest.approx(expected.pvalue)


def test_holm_adjusts_over_the_values_that_could_be_tested() -> None:
    counts = [[10, 20, 30], [3, 1, 2], [0, 0, 0], [25, 25, 26]]
    values = compare_shares(counts, [50, 50, 50])
    tested = [v.test for v in values if v.test is not None]
    assert len(tested) == 3
    raw = sorted((t.p_value, i) for i, t in enumerate(tested))
    m, running = len(raw), 0.0
    for rank, (p, i) in enumerate(raw):  # Holm by hand: the running maximum of (m - rank) · p, at most 1
        running = max(running, min(1.0, (m - rank) * p))
        assert tested[i].p_adjusted == pytest.approx(running)


def test_a_value_no_study_has_is_shown_but_not_tested_and_gives_valid_json() -> None:
    values = compare_shares([[0, 0, 0], [2, 0, 0]], [12, 9, 0])
    nobody, some = values
    assert nobody.test is None and nobody.untested == "none of the studies' collaborations has this value"
    assert [s.share for s in nobody.shares] == [0.0, 0.0, None]  # a study without collaborations has no share
    assert some.test is not None and some.test.test == FISHER  # the third study (total 0) is left out: 2 x 2
    odds = fisher_exact([[2, 0], [10, 9]])
    assert math.isinf(odds.statistic) and some.test.statistic is None
    assert some.test.p_value == pytest.approx(odds.pvalue)
    text = json.dumps([v.as_json() for v in values], allow_nan=False)  # raises on NaN or infinity
    assert json.loads(text)[0]["p_adjusted"] is None


def test_a_value_every_collaboration_has_and_a_single_study_are_not_tested() -> None:
    [everyone] = compare_shares([[4, 6]], [4, 6])
    assert everyone.test is None and everyone.untested == "every collaboration of the studies has this value"
    [alone] = compare_shares([[3, 0]], [5, 0])
    assert alone.test is None and alone.untested == "fewer than two of the studies have collaborations"


@pytest.mark.parametrize(("counts", "totals"), [([[6, 1]], [5, 4]), ([[-1, 1]], [5, 4]), ([[1]], [5, 4])])
def test_impossible_counts_are_refused(counts: list[list[int]], totals: list[int]) -> None:
    with pytest.raises(ValueError, match="count"):
        compare_shares(counts, totals)
