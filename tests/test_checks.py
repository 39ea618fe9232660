import pytest
import torch
import torch.nn.functional as F
from torch import nn

from convbook.checks import (
    CONVOLUTION,
    RELU,
    TENSOR_ARITHMETIC,
    TENSOR_BUILDING,
    CheckFailed,
    arithmetic_only,
    assert_close_to,
    assert_equal,
    forbid,
    on_device,
    only,
)


def test_assert_close_to_accepts_values_within_tolerance():
    assert_close_to(torch.ones(2, 3), torch.ones(2, 3) + 1e-7, "f(X)")
    assert_close_to(2.0, torch.tensor(2.0), "a number")


def test_assert_close_to_names_both_shapes_when_they_differ():
    with pytest.raises(CheckFailed, match=r"f\(X\): expected shape \(2, 3\), got shape \(3, 2\)"):
        assert_close_to(torch.zeros(2, 3), torch.zeros(3, 2), "f(X)")


def test_assert_close_to_reports_the_first_wrong_value_and_how_many_differ():
    got = torch.zeros(4, 5)
    got[1, 2] = 7.0
    got[3, 0] = 1.0
    with pytest.raises(CheckFailed) as error:
        assert_close_to(torch.zeros(4, 5), got, "g(X)")
    message = str(error.value)
    assert "2 of 20 values differ" in message
    assert "index (1, 2): expected 0, got 7" in message


def test_assert_close_to_treats_nan_as_wrong_and_non_tensors_as_failures():
    with pytest.raises(CheckFailed, match="differ"):
        assert_close_to(torch.zeros(3), torch.tensor([0.0, float("nan"), 0.0]), "h")
    with pytest.raises(CheckFailed, match="expected a tensor"):
        assert_close_to(torch.zeros(3), object(), "h")


def test_check_failed_is_an_assertion_error_so_nbgrader_scores_the_cell_zero():
    assert issubclass(CheckFailed, AssertionError)


def test_assert_equal_compares_sizes_lists_and_tuples_alike():
    assert_equal((2, 2), torch.Size([2, 2]), "shape")
    assert_equal([(1, 2)], [[1, 2]], "shapes")
    with pytest.raises(CheckFailed, match=r"count: expected 4, got 2"):
        assert_equal(4, 2, "count")


def test_forbid_blocks_functions_methods_and_the_layers_that_call_them():
    x = torch.randn(1, 2, 4, 4)
    names = ("torch.max", "torch.Tensor.max", "torch.nn.functional.avg_pool2d")
    with forbid(*names, hint="use a convolution"):
        with pytest.raises(CheckFailed, match="torch.max is not allowed.*use a convolution"):
            torch.max(x)
        with pytest.raises(CheckFailed, match="torch.Tensor.max is not allowed"):
            x.max()
        with pytest.raises(CheckFailed, match="avg_pool2d is not allowed"):
            nn.AvgPool2d(2)(x)
        F.relu(x)  # everything else still works


def test_forbid_refuses_the_answers_source_whatever_name_it_uses():
    """The answer named by ``what`` is checked on its source before it runs: a forbidden
    function under another name (an import alias, a captured reference, a method) is
    refused with the line, and so is a Python function no PyTorch trace would see."""
    from torch import max as captured_max

    from convbook import ops

    captured_corr2d = ops.corr2d

    def by_alias(x):
        return captured_max(x)

    def by_captured_python_function(x):
        return captured_corr2d(x, torch.ones(2, 2))

    def by_method(x):
        return x.max()

    def honest(x):
        return x.sum()

    x = torch.randn(4, 4)
    names = ("torch.max", "torch.Tensor.max", "convbook.ops.corr2d")
    for answer, says in [(by_alias, "torch.max is not allowed"),
                         (by_captured_python_function, "convbook.ops.corr2d is not allowed"),
                         (by_method, r"\.max is not allowed")]:  # fmt: skip
        with pytest.raises(CheckFailed, match=says):
            with forbid(*names, what=answer.__name__):
                answer(x)
    with forbid(*names, what="honest"):
        assert honest(x) == x.sum()
    assert captured_max(torch.tensor([1.0, 2.0])) == 2.0  # nothing was replaced


def test_forbid_still_refuses_pytorch_functions_reached_at_run_time():
    """The trace is the second signal: a layer or a captured reference is refused while
    the block runs, even without an answer to read."""
    from torch.nn.functional import max_pool2d as captured_pool

    x = torch.randn(1, 1, 4, 4)
    with forbid("torch.nn.functional.max_pool2d"):
        with pytest.raises(CheckFailed, match="max_pool2d is not allowed"):
            captured_pool(x, 2)
        with pytest.raises(CheckFailed, match="max_pool2d is not allowed"):
            nn.MaxPool2d(2)(x)


def test_forbid_leaves_nothing_behind_after_an_error():
    original_avg_pool = F.avg_pool2d
    with pytest.raises(RuntimeError), forbid("torch.Tensor.max", "torch.nn.functional.avg_pool2d"):
        raise RuntimeError("student code crashed")
    assert F.avg_pool2d is original_avg_pool
    assert torch.tensor([1.0, 3.0]).max() == 3.0


def test_forbid_rejects_names_that_do_not_exist_before_replacing_anything():
    with pytest.raises(ValueError, match="does not exist"), forbid("torch.max", "torch.no_such_fn"):
        pass
    assert torch.max(torch.tensor([1.0, 2.0])) == 2.0


def test_an_answer_cannot_decide_how_it_is_compared():
    class Agrees(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            result = super().__torch_function__(func, types, args, kwargs or {})
            if func in (torch.isclose, torch.Tensor.isclose):
                return torch.ones_like(result, dtype=torch.bool).as_subclass(torch.Tensor)
            return result

    class Yes(int):
        def __eq__(self, other):
            return True

        def __ne__(self, other):
            return False

    with pytest.raises(CheckFailed, match="values differ"):
        assert_close_to(torch.ones(3), torch.zeros(3).as_subclass(Agrees), "values")
    with pytest.raises(CheckFailed, match="expected 48, got 0"):
        assert_equal(48, Yes(0), "count")
    with pytest.raises(CheckFailed, match="expected a number"):
        assert_equal(48, object(), "count")


def test_parameter_count_can_leave_out_convolution_biases():
    from torch import nn

    from convbook.checks import parameter_count

    block = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Linear(4, 2))
    bare = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4), nn.Linear(4, 2))
    assert parameter_count(block) == 3 * 4 * 9 + 4 + 8 + 10
    assert parameter_count(block, conv_biases=False) == parameter_count(bare) == 3 * 4 * 9 + 8 + 10


def test_arithmetic_only_refuses_any_pytorch_call_however_it_is_reached():
    from torch.nn import LazyLinear as captured

    from convbook.models import VGG, VGG11_NARROW_ARCH

    def builds_on_meta():
        with torch.device("meta"):
            return sum(p.numel() for p in VGG(VGG11_NARROW_ARCH).parameters())

    tensor = torch.ones(3)
    for answer in (
        builds_on_meta,
        lambda: captured(4),
        lambda: nn.Conv2d(1, 2, 3),
        lambda: tensor.numel(),
        lambda: torch.tensor([2, 3]).prod(),
    ):
        with pytest.raises(CheckFailed, match="must be computed with Python arithmetic only"):
            with arithmetic_only("count"):
                answer()
    with arithmetic_only("count"):  # Python arithmetic, and a torch.Size, are fine
        assert sum((3 * 3 * c + 1) * 8 for c in (1, 8)) + torch.Size([2, 3]).numel() == 670
    assert torch.ones(2).sum() == 2  # and PyTorch works again after the block


META = torch.device("meta")  # a second device on any machine: it checks devices, not values


def test_on_device_runs_a_device_agnostic_answer_where_its_inputs_are():
    def agnostic(x, k):
        out = x.new_zeros(x.shape) + torch.zeros_like(x) + torch.ones(x.shape, device=x.device)
        return out * k, (x - 1, [x * 2])

    got, (minus, [double]) = on_device(agnostic, torch.randn(2, 3), torch.tensor(2.0), device=META)
    assert got.device == minus.device == double.device == META


def test_on_device_fails_an_answer_that_makes_a_cpu_tensor_and_mixes_it_with_its_input():
    def mixes(x):
        return x + torch.zeros(x.shape[0])

    with pytest.raises(CheckFailed) as error:
        on_device(mixes, torch.randn(4), device=META, what="mixes(x)")
    message = str(error.value)
    assert message.startswith("mixes(x): run on meta with its inputs there, it failed")
    assert "device=X.device" in message and "PyTorch said: " in message


def test_on_device_fails_an_answer_that_returns_a_tensor_made_on_the_cpu():
    with pytest.raises(CheckFailed, match=r"fresh: .* the result came back on cpu;.*zeros_like"):
        on_device(lambda x: torch.zeros(x.shape), torch.randn(3), device=META, what="fresh")
    with pytest.raises(CheckFailed, match=r"item 1 of the result came back on cpu"):
        on_device(lambda x: (x, torch.ones(2)), torch.randn(3), device=META)
    with pytest.raises(CheckFailed, match=r"parameter weight of the result came back on cpu"):
        on_device(lambda x: nn.Linear(3, 2), torch.randn(3), device=META)


def test_on_device_moves_modules_and_lets_other_errors_through():
    layer = nn.Linear(3, 2)
    assert on_device(layer, torch.randn(5, 3), device=META).shape == (5, 2)
    assert layer.weight.device == META  # moved in place, as by layer.to(device)
    with pytest.raises(ZeroDivisionError):
        on_device(lambda x: 1 / 0, torch.randn(3), device=META)


def test_on_device_on_the_default_device_gives_the_values_of_a_direct_call():
    from convbook.device import try_gpu

    def answer(x, w):
        return x @ w + x.new_ones(w.shape[1]), x.sum()

    torch.manual_seed(0)
    x, w = torch.randn(4, 3), torch.randn(3, 2)
    got = on_device(answer, x, w)
    assert got[0].device.type == try_gpu().type
    for expected, value in zip(answer(x, w), got, strict=True):
        assert_close_to(expected, value, "answer(x, w)")


def test_only_runs_what_is_allowed_and_refuses_any_other_operation():
    a, b = torch.randn(7), torch.randn(7)
    relu_and_arithmetic = (*RELU, *TENSOR_ARITHMETIC)
    with only(*relu_and_arithmetic, what="max_relu"):
        got = [
            F.relu(a - b) + b,
            torch.relu(b - a) + a,
            (a + b + F.relu(a - b) + F.relu(b - a)) / 2,
        ]
        assert a.shape == (7,) and a.dtype == torch.float32  # reading metadata is allowed
    for value in got:
        assert torch.allclose(value, torch.maximum(a, b))
    refused = {
        "Tensor.abs": lambda: (a + b + (a - b).abs()) / 2,
        "Tensor.ge": lambda: a * (a >= b) + b * (a < b),
        "torch.maximum": lambda: torch.maximum(a, b),
        "Tensor.pow": lambda: (a - b) ** 2,
    }
    for name, answer in refused.items():
        with pytest.raises(CheckFailed, match=f"max_relu used {name}.*: use F.relu"):
            with only(*relu_and_arithmetic, what="max_relu", hint="use F.relu"):
                answer()
    clamp = torch.clamp  # a reference taken before the check is seen all the same
    with pytest.raises(CheckFailed, match="torch.clamp"):
        with only(*relu_and_arithmetic, what="max_relu"):
            clamp(a, min=b)


def test_only_lets_a_layer_be_built_from_allowed_operations():
    allowed = (*RELU, *TENSOR_ARITHMETIC, *CONVOLUTION, *TENSOR_BUILDING)
    X = torch.randn(1, 2, 4, 4)
    with only(*allowed, what="max_pool_conv"):
        conv = nn.Conv2d(2, 8, 2, stride=2, bias=False)
        with torch.no_grad():
            conv.weight.zero_()
            conv.weight[0, 0, 0, 0] = 1.0
        out = conv(X)
    assert torch.equal(out[0, 0], X[0, 0, ::2, ::2])
    with pytest.raises(CheckFailed, match="max_pool_conv used .*max_pool2d"):
        with only(*allowed, what="max_pool_conv"):
            nn.MaxPool2d(2)(X)  # a layer that calls a refused function
    with pytest.raises(ValueError, match="does not exist"):
        with only("torch.no_such_function", what="x"):
            pass


def test_on_device_holds_its_rule_during_the_call_but_not_while_moving_inputs():
    a, b = torch.randn(3), torch.randn(3)

    def max_relu(a, b):
        return F.relu(a - b) + b

    rule = only(*RELU, *TENSOR_ARITHMETIC, what="max_relu")
    assert torch.allclose(on_device(max_relu, a, b, device="cpu", rule=rule), torch.maximum(a, b))
    rule = only(*RELU, *TENSOR_ARITHMETIC, what="max_relu")
    with pytest.raises(CheckFailed, match="Tensor.abs"):
        on_device(lambda a, b: (a + b + (a - b).abs()) / 2, a, b, device="meta", rule=rule)


def test_no_rule_can_be_escaped_by_starting_another_process():
    import os
    import subprocess
    import sys

    def count_in_a_child():
        return int(subprocess.check_output([sys.executable, "-c", "print(6 * 7)"]))

    rules = [
        lambda: arithmetic_only("the count"),
        lambda: only(*RELU, what="the count"),
        lambda: forbid("torch.max"),
    ]
    for rule in rules:
        for escape in (count_in_a_child, lambda: os.system("true")):
            with pytest.raises(CheckFailed, match="started another process"):
                with rule():
                    escape()
    assert count_in_a_child() == 42  # outside a check nothing is refused
