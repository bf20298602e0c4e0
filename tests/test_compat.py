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


def test_the_replaying_generator_hands_back_stored_chunks_and_otherwise_computes(monkeypatch):
    from collections import deque

    from hqsam_nb._compat import replaying_mask_generator

    cls = replaying_mask_generator()
    official = import_official().automatic_mask_generator.SamAutomaticMaskGenerator
    assert issubclass(cls, official) and "_process_batch" in vars(official)  # the private hook still exists
    gen = cls.__new__(cls)
    gen.replay = deque(["first", "second"])
    assert [gen._process_batch(None, (1, 1), [0, 0, 1, 1], (1, 1)) for _ in range(2)] == ["first", "second"]
    monkeypatch.setattr(official, "_process_batch", lambda self, *args: ("computed", args[-1]))
    gen.replay = deque(["stored"])
    assert gen.process_batch(None, (1, 1), [0, 0, 1, 1], (1, 1), False) == ("computed", False)  # never a replay
    gen.replay = None
    assert gen._process_batch(None, (1, 1), [0, 0, 1, 1], (1, 1)) == ("computed", True)


def test_ray_start_wait_lets_a_slow_raylet_register(monkeypatch):
    """ray.init's wait for a new raylet polls the private services.get_node for a fixed 30 s; inside the block each
    poll keeps asking until the caller's timeout, then gives Ray's own error back."""
    import inspect

    import ray._private.node as node
    import ray._private.services as services

    from hqsam_nb._compat import RAY_AGENT_WAIT_ENV, RAY_GCS_WAIT_ENV, ray_start_wait

    source = inspect.getsource(node.Node.__init__)
    assert "ray._private.services.get_node(" in source and "timed out during startup" in source
    assert RAY_GCS_WAIT_ENV in inspect.getsource(node)  # Ray's switch for the GCS's start-up wait
    answers = iter([RuntimeError("not yet"), RuntimeError("not yet"), {"node_id": "n"}])

    def slow(gcs_address, node_id):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(services, "get_node", slow)
    monkeypatch.delenv(RAY_GCS_WAIT_ENV, raising=False)
    monkeypatch.setenv(RAY_AGENT_WAIT_ENV, "5000")
    with ray_start_wait(30):
        assert os.environ[RAY_GCS_WAIT_ENV] == "30" and os.environ[RAY_AGENT_WAIT_ENV] == "30000"
        assert services.get_node("127.0.0.1:1", "n") == {"node_id": "n"}  # two refusals waited out
    assert services.get_node is slow and RAY_GCS_WAIT_ENV not in os.environ
    assert os.environ[RAY_AGENT_WAIT_ENV] == "5000"  # restored

    def never(gcs_address, node_id):
        raise RuntimeError("node not found")

    monkeypatch.setattr(services, "get_node", never)
    with ray_start_wait(0.6), pytest.raises(RuntimeError, match="node not found"):
        services.get_node("127.0.0.1:1", "n")  # bounded: the caller's timeout, then Ray's error


def test_a_raylet_that_exited_is_told_from_one_still_starting(tmp_path):
    """ray_start_wait stops waiting for a raylet that aborted (Ray's fixed 15 s for its dashboard agent): it looks
    for a child process named raylet in /proc, alive or a zombie."""
    import shutil
    import signal
    import subprocess

    from hqsam_nb._compat import _raylet_child_alive

    if not os.path.isdir("/proc"):  # pragma: no cover - Linux CI; elsewhere the wait is simply not cut short
        assert _raylet_child_alive() is None
        return
    assert _raylet_child_alive() is None  # no raylet child: cannot tell
    fake = tmp_path / "raylet"
    shutil.copy(shutil.which("sleep"), fake)
    child = subprocess.Popen([str(fake), "60"])
    try:
        assert _raylet_child_alive() is True
        child.send_signal(signal.SIGKILL)
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # dead, not yet reaped: a zombie
        assert _raylet_child_alive() is False
    finally:
        child.kill()
        child.wait()
    assert _raylet_child_alive() is None


def test_traceable_prompt_embedder_equals_the_official_prompt_encoder():
    """SamOnnxModel's private _embed_points / _embed_masks, with points + padding and box corners as labels 2 / 3,
    give the official PromptEncoder's embeddings (to 1e-5: the positional encoding's sin / cos of a matrix product
    rounds a little differently for box corners, which the official code embeds separately)."""
    from hqsam_nb._compat import traceable_prompt_embedder

    official = import_official()
    model = official.sam_model_registry["vit_tiny"](checkpoint=None).eval()
    embed = traceable_prompt_embedder(model)
    coords = torch.tensor([[[100.0, 200.0], [500.0, 40.0]]])
    labels = torch.tensor([[1, 0]])
    box = torch.tensor([[10.0, 20.0, 300.0, 400.0]])
    mask = torch.randn(1, 1, 256, 256)
    with torch.inference_mode():
        sparse, dense = model.prompt_encoder(points=(coords, labels), boxes=None, masks=mask)
        ours = embed.points(torch.cat([coords, torch.zeros(1, 1, 2)], 1), torch.tensor([[1.0, 0.0, -1.0]]))
        torch.testing.assert_close(ours, sparse, rtol=0, atol=1e-5)
        torch.testing.assert_close(embed.masks(mask, torch.ones(1)), dense, rtol=0, atol=1e-6)
        sparse, dense = model.prompt_encoder(points=(coords, labels), boxes=box, masks=None)
        ours = embed.points(torch.cat([coords, box.reshape(1, 2, 2)], 1), torch.tensor([[1.0, 0.0, 2.0, 3.0]]))
        torch.testing.assert_close(ours, sparse, rtol=0, atol=1e-5)
        torch.testing.assert_close(embed.masks(torch.zeros(1, 1, 256, 256), torch.zeros(1)), dense, rtol=0, atol=0)
