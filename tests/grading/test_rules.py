"""Rules about how an answer is computed, checked on its source (convbook.grading.rules)."""

import pytest
import torch

from convbook.allowed import CONVOLUTION, RELU, TENSOR_ARITHMETIC, TENSOR_BUILDING
from convbook.grading.answer_code import closure, python_of
from convbook.grading.rules import Rule, RuleBroken, check

CONTEXT_CODE = "import torch\nimport torch.nn.functional as F\nfrom torch import nn\n"
RELU_ONLY = Rule("only", RELU + TENSOR_ARITHMETIC, "use F.relu", "max_relu")
CONV_RULE = Rule("only", RELU + TENSOR_ARITHMETIC + CONVOLUTION + TENSOR_BUILDING, "", "m")
NO_AVERAGE = Rule("forbid", ("torch.nn.functional.avg_pool2d", "torch.mean", "torch.Tensor.mean"))
ARITHMETIC = Rule("arithmetic", (), "", "count")


def _context() -> dict:
    namespace: dict = {}
    exec(CONTEXT_CODE, namespace)  # noqa: S102 - the course's imports
    return namespace


def _check(cells: list[str], answer: str, rule: Rule):
    python = [(i, python_of(text)) for i, text in enumerate(cells)]
    code = closure(answer, python, _context(), {i: f"cell {i}" for i in range(len(cells))})
    check(code, rule, _context())
    return code


@pytest.mark.parametrize(
    "source",
    [
        "def max_relu(a, b):\n    return F.relu(a - b) + b",
        "def max_relu(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:\n"
        "    return torch.relu(a - b) + b",
        "from torch.nn.functional import relu as r\n\ndef max_relu(a, b):\n    return r(a - b) + b",
        "def gap(a, b):\n    return a - b\n\ndef max_relu(a, b):\n    return F.relu(gap(a, b)) + b",
        "%%time\ndef max_relu(a, b):\n    return sum([F.relu(a - b), b])",
    ],
)
def test_honest_answers_pass_their_rule(source):
    _check([source], "max_relu", RELU_ONLY)


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("def max_relu(a, b):\n    return torch.maximum(a, b)", "torch.maximum"),
        ("def max_relu(a, b):\n    return a.clamp(min=b)", ".clamp"),
        ("def max_relu(a, b):\n    return getattr(torch, 'maxi' + 'mum')(a, b)", "getattr"),
        (
            "def max_relu(a, b):\n    with torch._C.DisableTorchFunction():\n"
            "        return torch.maximum(a, b)",
            "_C",
        ),
        (
            "def max_relu(a, b):\n    with torch.overrides._pop_mode_temporarily():\n"
            "        return a",
            "_pop_mode",
        ),
        ("def max_relu(a, b):\n    return torch.ops.aten.maximum(a, b)", "torch.ops"),
        ("def max_relu(a, b):\n    return eval('torch.maximum')(a, b)", "eval"),
        ("def max_relu(a, b):\n    import torch as t\n    return t.maximum(a, b)", "torch.maximum"),
        (
            "def max_relu(a, b):\n    from torch import maximum\n    return maximum(a, b)",
            "torch.maximum",
        ),
        (
            "def max_relu(a, b):\n    import importlib\n"
            "    return importlib.import_module('torch').maximum(a, b)",
            "importlib",
        ),
        (
            "import operator\n\ndef max_relu(a, b):\n"
            "    return operator.attrgetter('maxi' + 'mum')(torch)(a, b)",
            "operator.attrgetter",
        ),
        ("def max_relu(a, b):\n    return a.__class__.__max__(a, b)", "attribute __"),
        ("def max_relu(a, b):\n    return vars(torch)['maximum'](a, b)", "vars"),
        ("M = torch.maximum\n\ndef max_relu(a, b):\n    return M(a, b)", "torch.maximum"),
        ("G = torch\n\ndef max_relu(a, b):\n    return G.maximum(a, b)", "torch.maximum"),
        ("def max_relu(a, b):\n    return F.torch.maximum(a, b)", "maximum"),
        ("def max_relu(a, b):\n    return a.numpy()", ".numpy"),
        (
            "def max_relu(a, b):\n    F.relu = F.relu_\n    return F.relu(a - b) + b",
            "changes .relu",
        ),
        ("def max_relu(a, b):\n    del torch.Tensor.relu\n    return a", "changes .relu"),
        ("def max_relu(a: (m := torch.maximum), b):\n    return m(a, b)", "annotation"),
        ("def max_relu(a, b) -> torch._C.DisableTorchFunction():\n    return a", "annotation"),
        ("def max_relu(a, b):\n    x: print(1) = a\n    return x", "annotation"),
        ("def max_relu(a, b):\n    return torch.nn.grad.conv2d_input((1,), a, b)", "torch.nn.grad"),
        ("def max_relu(a, b):\n    return (a - b).bool().float() * (a - b) + b", "tensor method"),
    ],
)
def test_each_way_around_an_allow_list_is_refused_with_its_line(source, says):
    with pytest.raises(RuleBroken, match=says) as broken:
        _check([source], "max_relu", RELU_ONLY)
    assert "line " in str(broken.value)


def test_a_helper_the_answer_calls_is_checked_too_and_named():
    cells = ["def helper(a, b):\n    return torch.maximum(a, b)",
             "def max_relu(a, b):\n    return helper(a, b)"]  # fmt: skip
    with pytest.raises(RuleBroken, match="line 2 of cell 0: torch.maximum"):
        _check(cells, "max_relu", RELU_ONLY)


def test_the_answer_is_the_last_definition_before_the_test():
    cells = ["def max_relu(a, b):\n    return torch.maximum(a, b)",
             "def max_relu(a, b):\n    return F.relu(a - b) + b"]  # fmt: skip
    code = _check(cells, "max_relu", RELU_ONLY)
    assert "torch.maximum" not in code.code()


def test_a_name_bound_where_the_grader_cannot_follow_is_refused():
    cells = ["for r in [torch.maximum]:\n    pass", "def max_relu(a, b):\n    return r(a, b)"]
    with pytest.raises(RuleBroken, match="line 1 of cell 0: r is bound inside a for"):
        _check(cells, "max_relu", RELU_ONLY)


def test_an_answer_may_change_its_own_variables():
    source = (
        "def m(X, size):\n    conv = nn.Conv2d(1, 1, size, stride=size, bias=False)\n"
        "    conv.weight.data = X.new_ones(1, 1, size, size)\n    out = {}\n"
        "    torch.backends.cudnn.benchmark = True\n"
        "    out['y'] = conv(X)\n    return out['y']"
    )
    _check([source], "m", CONV_RULE)


def test_building_operations_named_by_the_text_are_allowed():
    source = (
        "def m(X, size):\n"
        "    k = size * size\n"
        "    eye = torch.zeros(k, k).fill_diagonal_(1.0) + torch.diag(torch.ones(k)) * 0\n"
        "    w = torch.vstack([eye]).swapaxes(0, 1).reshape(k, 1, size, size)\n"
        "    index = torch.arange(k).reshape(k, 1, 1, 1).expand(w.shape)\n"
        "    w = w.new_zeros(w.shape).scatter_(0, index, w)\n"
        "    return F.conv2d(X, w, stride=size)"
    )
    _check([source], "m", CONV_RULE)


def test_a_deny_list_refuses_its_names_however_they_are_written():
    for source in [
        "def f(X):\n    return F.avg_pool2d(X, 2)",
        "def f(X):\n    return X.mean(dim=(2, 3))",
        "from torch.nn.functional import avg_pool2d as smooth\n\n"
        "def f(X):\n    return smooth(X, 2)",
        "def f(X):\n    return torch.ops.aten.avg_pool2d(X, [2, 2])",
        "def f(X):\n    return torch.ops.aten.avg_pool2d.default(X, [2, 2])",
        "def f(X):\n    return torch.ops.aten.mean.dim(X, [2, 3])",
        "def f(X):\n    return torch.ops.aten.reflection_pad2d.default(X, [1, 1, 1, 1])",
        "def f(X):\n    return getattr(F, 'avg_pool' + '2d')(X, 2)",
    ]:
        with pytest.raises(RuleBroken):
            _check([source], "f", NO_AVERAGE)
    _check(["def f(X):\n    return X.sum(dim=(2, 3)) / 4"], "f", NO_AVERAGE)


def test_arithmetic_only_allows_python_and_math_but_no_torch():
    _check(["import math\n\ndef count(n, k):\n    return math.prod([n, k]) + max(n, k) // 2"],
           "count", ARITHMETIC)  # fmt: skip
    _check(
        ["def count(n, k):\n    import math\n\n    return math.floor(n / k)"], "count", ARITHMETIC
    )
    for source in [
        "def count(n, k):\n    return torch.zeros(n, k).numel()",
        "def count(n, k):\n    return sum(p.numel() for p in nn.Linear(n, k).parameters())",
    ]:
        with pytest.raises(RuleBroken, match="not arithmetic"):
            _check([source], "count", ARITHMETIC)


def test_a_cell_that_does_not_parse_defines_nothing():
    cells = ["def max_relu(a, b):\n    return F.relu(a - b) + b", "def max_relu(a, b)\n    oops"]
    code = _check(cells, "max_relu", RELU_ONLY)
    assert "F.relu" in code.code()


def test_checked_code_runs_as_checked():
    cells = ["def max_relu(a, b):\n    return F.relu(a - b) + b"]
    code = _check(cells, "max_relu", RELU_ONLY)
    namespace: dict = {}
    exec(CONTEXT_CODE + code.code(), namespace)  # noqa: S102
    a, b = torch.tensor([1.0, -2.0]), torch.tensor([0.0, 3.0])
    assert torch.equal(namespace["max_relu"](a, b), torch.maximum(a, b))
