"""The op surface of API.md + SIGNATURES.md: every op exists in convcore.reference and in
convcore.functional (alias convcore.F) with the same signature, so compiled replacements
of a functional module stay drop-in."""

import inspect

import pytest

import convcore

OPS = [
    "conv2d", "conv2d_backward", "conv_output_size", "linear", "linear_backward",
    "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward",
    "global_avg_pool2d", "global_avg_pool2d_backward",
    "batch_norm2d", "batch_norm2d_backward", "batch_norm1d", "batch_norm1d_backward",
    "relu", "relu_backward", "leaky_relu", "leaky_relu_backward", "elu", "elu_backward",
    "sigmoid", "sigmoid_backward", "tanh", "tanh_backward", "maxout", "maxout_backward",
    "dropout", "dropout_backward", "softmax", "softmax_backward", "log_softmax",
    "log_softmax_backward", "cross_entropy", "cross_entropy_backward", "mse_loss",
    "mse_loss_backward",
]


def test_alias_and_exports():
    assert convcore.F is convcore.functional
    assert sorted(convcore.reference.__all__) == sorted(OPS)
    assert sorted(convcore.functional.__all__) == sorted(OPS)


@pytest.mark.parametrize("name", OPS)
def test_functional_signature_matches_reference(name):
    reference_op = getattr(convcore.reference, name)
    functional_op = getattr(convcore.functional, name)
    def shape(op):   # names, kinds and defaults; annotations may be spelled differently
        return [(p.name, p.kind, p.default) for p in inspect.signature(op).parameters.values()]

    assert shape(functional_op) == shape(reference_op)
    assert reference_op.__doc__, f"reference.{name} needs a docstring"


def test_documented_defaults():
    sig = inspect.signature(convcore.reference.conv2d)
    assert [(p.name, p.default) for p in list(sig.parameters.values())[2:]] == [
        ("bias", None), ("stride", 1), ("padding", 0), ("dilation", 1), ("groups", 1),
        ("activation", None)]
    sig = inspect.signature(convcore.reference.batch_norm2d)
    assert {k: p.default for k, p in sig.parameters.items() if k not in ("x", "gamma", "beta")} == {
        "running_mean": None, "running_var": None, "training": True, "momentum": 0.1,
        "eps": 1e-5, "activation": None}
    sig = inspect.signature(convcore.reference.conv2d_backward)
    assert sig.parameters["needs"].default == ("x", "weight", "bias")
