"""What crosses between the grader and a student's kernel: plain data, and nothing else."""

import base64
import json
import pickle

import numpy as np
import pytest
import torch

from convbook.grading.wire import MAX_ITEMS, Handle, WireError, decode, encode


def _round_trip(value):
    return decode(json.loads(json.dumps(encode(value))))


def test_plain_values_come_back_as_the_same_types():
    value = {"a": (1, 2.5, None, True), "b": [float("nan"), "text"], 3: 2**70}
    back = _round_trip(value)
    assert back["a"] == (1, 2.5, None, True) and type(back["a"]) is tuple
    assert back["b"][1] == "text" and np.isnan(back["b"][0])
    assert back[3] == 2**70


@pytest.mark.parametrize(
    "dtype", [torch.float32, torch.float64, torch.bfloat16, torch.int64, torch.bool]
)
def test_tensors_keep_dtype_shape_values_and_their_gradient_flag(dtype):
    tensor = (torch.arange(24).reshape(2, 3, 4) % 5).to(dtype)
    back = _round_trip(tensor)
    assert back.dtype == dtype and back.shape == tensor.shape
    assert torch.equal(back, tensor)
    grad = _round_trip(torch.ones(2, requires_grad=True))
    assert grad.requires_grad


def test_numpy_numbers_are_numbers_and_arrays_are_arrays():
    assert _round_trip(np.int64(1)) == 1 and type(_round_trip(np.int64(1))) is int
    assert type(_round_trip(np.float32(0.5))) is float
    array = _round_trip(np.arange(6.0).reshape(2, 3))
    assert isinstance(array, np.ndarray) and array.shape == (2, 3)


def test_objects_that_are_not_data_travel_only_as_handles():
    with pytest.raises(WireError):
        encode(object())
    handle = Handle(7, "pkg.Thing", ("pkg.Thing", "builtins.object"), True, False, "<Thing>")
    data = encode(object(), handle_of=lambda value: handle)
    back = decode(json.loads(json.dumps(data)))
    assert isinstance(back, Handle) and back.id == 7 and back.mro[0] == "pkg.Thing"


@pytest.mark.parametrize(
    "data",
    [
        {"$": "pickle", "v": base64.b64encode(pickle.dumps(print)).decode()},
        {"$": "ref", "id": 1},  # the harness never accepts the kernel's references
        {"$": "tensor", "dtype": "object", "shape": [1], "data": ""},
        {"$": "tensor", "dtype": "float32", "shape": [10**9], "data": "AAAA"},
        {"$": "tensor", "dtype": "float32", "shape": [2], "data": "AAAA"},  # 3 bytes for 8
        {"$": "tensor", "dtype": "float32", "shape": [-1], "data": ""},
        {"$": "int", "v": "1" * 5000},
        {"$": "dict", "items": [[["unhashable"], 1]]},
        {"$": "handle", "id": "x", "type": "t", "mro": [], "text": ""},
    ],
)
def test_anything_else_is_refused_without_running_or_building_it(data):
    with pytest.raises(WireError):
        decode(data)


def test_sizes_are_bounded():
    with pytest.raises(WireError, match="items"):
        decode([0] * (MAX_ITEMS + 1))
    deep: list = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(WireError, match="deeply"):
        decode(deep)
