"""``owned_from``: a handler's inputs picked from an application's data in one pass, as
``owned`` of the picked values: the same keys and values, every list or mapping a copy."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from productkit.runtime._coerce import owned, owned_from

_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5)
                       | st.decimals(allow_nan=False, allow_infinity=False).map(Decimal),
                       lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.text(max_size=3), inner, max_size=3), max_leaves=8)
_paths = st.sampled_from(["a", "b", "c.d", "e"])


@given(data=st.dictionaries(_paths, _values), paths=st.dictionaries(st.text(max_size=4), _paths))
def test_the_same_as_owned_of_the_picked_values(data: dict[str, Any], paths: dict[str, str]) -> None:
    picked = owned_from(data, paths)
    assert picked == owned({key: data[path] for key, path in paths.items() if path in data})
    assert list(picked) == [key for key, path in paths.items() if path in data]
    for key, value in picked.items():
        if isinstance(value, list | dict):
            assert value is not data[paths[key]]  # the handler's own copy
