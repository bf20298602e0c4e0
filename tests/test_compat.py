"""The one shim over third-party private APIs: each reach still behaves as we rely on."""

from __future__ import annotations

import os

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


def test_ray_loopback_only_keeps_a_local_ray_on_127_0_0_1(monkeypatch):
    import ray._private.ray_constants as constants
    import ray._private.services as services

    from hqsam_nb._compat import ray_loopback_only

    monkeypatch.setattr(constants, "ENABLE_RAY_CLUSTER", True)
    monkeypatch.delenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", raising=False)
    ray_loopback_only()
    assert os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] == "0"
    assert constants.ENABLE_RAY_CLUSTER is False
    # What Ray asks when it picks the address to bind and advertise (no Ray connection in this process).
    assert services.get_node_ip_address() == "127.0.0.1"


def test_the_replaying_generator_hands_back_stored_chunks_and_otherwise_computes():
    from collections import deque

    from hqsam_nb._compat import replaying_mask_generator

    cls = replaying_mask_generator()
    official = import_official().automatic_mask_generator.SamAutomaticMaskGenerator
    assert issubclass(cls, official) and "_process_batch" in vars(official)  # the private hook still exists
    gen = cls.__new__(cls)
    gen.replay = deque(["first", "second"])
    assert [gen._process_batch(None, (1, 1), [0, 0, 1, 1], (1, 1)) for _ in range(2)] == ["first", "second"]
