"""The benchmark report warns when the machine's speed changed during the run (the two stack ceilings disagree)."""

from __future__ import annotations

from bench.report import noisy_machine


def test_ceilings_that_agree_give_no_warning():
    assert noisy_machine([4000.0, 3500.0]) == []
    assert noisy_machine([4000.0]) == []


def test_ceilings_that_disagree_are_called_out_with_their_spread():
    (line,) = noisy_machine([3808.5, 1339.2])
    assert "Noisy machine" in line and "184%" in line
