"""The GIL-releasing set helpers agree with numpy's isin / unique on any int64 input."""
import numpy as np
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from tickscope.sim import npsets

small_ints = hnp.arrays(np.int64, st.integers(0, 60), elements=st.integers(-20, 20))


def test_member_of_equals_isin():
    rng = np.random.default_rng(3)
    v, items = rng.integers(0, 50, 1000), rng.integers(0, 50, 30)
    assert np.array_equal(npsets.member_of(v, items), np.isin(v, items))
    assert not npsets.member_of(v, np.zeros(0, np.int64)).any()


@given(small_ints, small_ints)
def test_member_of_property(values, items):
    assert np.array_equal(npsets.member_of(values, items), np.isin(values, items))


@given(small_ints)
def test_distinct_count_property(values):
    assert npsets.distinct_count(values) == np.unique(values).size
