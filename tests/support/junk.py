"""Hostile request bodies for property tests: raw bytes, or JSON of any shape whose object keys
are drawn from the names a parser looks for (so the junk reaches past the first lookup)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from hypothesis import strategies as st


def junk_bodies(
    keys: Sequence[str], *, max_bytes: int, max_text: int, max_keys: int, max_leaves: int
) -> st.SearchStrategy[bytes]:
    """Bytes up to ``max_bytes`` long, or JSON documents nested from ``keys`` and scalars."""
    return st.one_of(
        st.binary(max_size=max_bytes),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=max_text),
            lambda inner: (
                st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(list(keys)), inner, max_size=max_keys)
            ),
            max_leaves=max_leaves,
        ).map(lambda v: json.dumps(v).encode()),
    )
