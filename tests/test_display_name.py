"""display_name's fast path names every path as the pathlib reading it stands for does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from productkit.sources import display_name

_PART = st.sampled_from(["a", "b", "products", "x.yaml", ".", "..", "", "é", "a b"])
_PATHS = st.lists(_PART, min_size=0, max_size=5).map(lambda parts: "/" + "/".join(parts))
_CWDS = st.lists(st.sampled_from(["a", "b", "products"]), min_size=0, max_size=3).map(lambda p: "/" + "/".join(p))


def _by_pathlib(text: str, cwd: str) -> str:
    try:
        return str(Path(text).absolute().relative_to(Path(cwd)))
    except ValueError:
        return str(Path(text))


@given(_PATHS, _CWDS)
def test_display_name_agrees_with_pathlib(text: str, cwd: str) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "getcwd", lambda: cwd)
        assert display_name(Path(text)) == _by_pathlib(text, cwd)
