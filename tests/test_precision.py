import pytest
import torch

from rlforge import precision
from rlforge.precision import agrees_with_float64, matmul_precision, update_precision

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def test_the_accuracy_check_passes_float32_and_refuses_bfloat16_inputs():
    assert agrees_with_float64(lambda a, b: a @ b)
    assert not agrees_with_float64(lambda a, b: (a.bfloat16() @ b.bfloat16()).float())


def test_explicit_settings_are_used_as_given_and_unknown_ones_refused():
    assert update_precision("highest", CPU, "medium") == "highest"
    assert update_precision("medium", CPU, "highest") == "medium"
    with pytest.raises(ValueError, match="matmul_precision must be one of"):
        update_precision("fast", CPU, "medium")


def test_auto_is_highest_unless_the_agent_asks_and_the_cpu_computes_it_exactly(monkeypatch):
    monkeypatch.setattr(precision, "_cpu_has_bf16_dot", lambda: True)
    monkeypatch.setattr(precision, "keeps_float32_accuracy", lambda p: True)
    assert update_precision("auto", CPU, "medium") == "medium"
    assert update_precision("auto", CPU, "highest") == "highest"
    assert update_precision("auto", CUDA, "medium") == "highest"  # TF32/bfloat16 arithmetic there
    monkeypatch.setattr(precision, "keeps_float32_accuracy", lambda p: False)
    assert update_precision("auto", CPU, "medium") == "highest"
    monkeypatch.setattr(precision, "keeps_float32_accuracy", lambda p: True)
    monkeypatch.setattr(precision, "_cpu_has_bf16_dot", lambda: False)
    assert update_precision("auto", CPU, "medium") == "highest"


def test_auto_on_this_machine_keeps_float32_accuracy_whatever_it_picks():
    chosen = update_precision("auto", CPU, "medium")
    assert precision.keeps_float32_accuracy(chosen)


def test_the_precision_is_restored_after_the_block_even_on_errors():
    before = torch.get_float32_matmul_precision()
    with pytest.raises(RuntimeError):
        with matmul_precision("medium"):
            assert torch.get_float32_matmul_precision() == "medium"
            raise RuntimeError
    assert torch.get_float32_matmul_precision() == before


def test_agents_ask_for_medium_only_for_wide_layers_and_large_batches():
    from rlforge.precision import precision_for_layers

    assert precision_for_layers(256, [256, 256]) == "medium"
    assert precision_for_layers(256, [256, 64]) == "highest"
    assert precision_for_layers(16, [256, 256]) == "highest"
    assert precision_for_layers(256, []) == "highest"
