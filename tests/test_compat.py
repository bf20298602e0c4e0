"""The one shim over third-party private APIs: each reach still behaves as we rely on."""

from __future__ import annotations

import pytest
import torch

from hqsam_nb._compat import held_canvas, import_official, separate_heads


def test_separate_heads_matches_the_official_attention_split():
    attention = import_official().modeling.transformer.Attention(embedding_dim=16, num_heads=4)
    x = torch.randn(2, 5, 16)
    heads = separate_heads(attention, x)
    assert heads.shape == (2, 4, 5, 4)
    # The split the official forward uses: head h holds channels h*4 .. h*4+3.
    assert torch.equal(heads[:, 1], x[..., 4:8])


def test_held_canvas_nests_and_an_exception_does_not_leave_it_caching():
    from ipycanvas.canvas import _CANVAS_MANAGER

    with held_canvas():
        assert _CANVAS_MANAGER._caching
        with held_canvas():  # nested: still the outer hold
            assert _CANVAS_MANAGER._caching
        assert _CANVAS_MANAGER._caching
    assert not _CANVAS_MANAGER._caching
    with pytest.raises(RuntimeError), held_canvas():
        raise RuntimeError("drawing failed")
    assert not _CANVAS_MANAGER._caching
