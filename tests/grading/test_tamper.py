"""Monkeypatching must not earn points: the static scan and the in-kernel guard cells."""

import nbformat
import pytest
from nbclient import NotebookClient

from convbook.grading.execute import SandboxedExecute
from convbook.grading.tamper import Guard, scan_source

PATCHES = [
    "torch.allclose = lambda *a, **k: True",
    "import torch as t\nt.testing.assert_close = print",
    "setattr(torch, 'allclose', lambda *a, **k: True)",
    "import sys\nsys.modules['torch'].equal = lambda *a: True",
    "import builtins\nbuiltins.isinstance = lambda *a: True",
    "__builtins__.all = lambda *a: True",
    "torch.Tensor.__eq__ = lambda self, other: True",
    "np.testing.assert_allclose = lambda *a, **k: None",
    "class Yes:\n    def __eq__(self, other):\n        return True",
    "class T(torch.Tensor):\n    pass",
    "exec('torch.allclose = len')",
    "vars(torch)['allclose'] = len",
    "torch.__dict__['allclose'] = len",
    "import gc\ngc.get_objects()",
    "get_ipython().input_transformers_cleanup.append(lambda lines: [])",
    "get_ipython().set_custom_exc((Exception,), lambda *a: None)",
    "f = (lambda: 0).__globals__",
    "import sys as s\nmods = s.modules",
    "import ctypes",
    "from unittest import mock",
    "x.allclose = y",
    "del torch.allclose",
    # the scan's reach: no module passed around, no dynamic tool passed around, no
    # kernel machinery, no code it cannot read
    "m = torch\nm.manual_seed = print",
    "[torch][0].manual_seed = print",
    "import functools\nfunctools.partial(setattr, torch)('allclose', len)",
    "ip = get_ipython()\nip.user_ns['assert_close_to'] = print",
    "%%capture\ntorch.allclose = len",
    "%time torch.allclose = len",
    "%run -i evil.py",
    "%%writefile evil.py\nprint(1)",
    "import runpy",
    "import pickle",
    "import threading",
    "import sys\nsys.path.insert(0, '/tmp')",
    "x.__class__ = Agrees",
    "base = x.__class__.__bases__[0]",
    "t = type(x).__subclasses__()",
]
HONEST = [
    "import torch\nfrom torch import nn\n\ndef double(x):\n    return 2 * x",
    "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "        self.lr = 0.1\n"
    "        setattr(self, 'block0', nn.ReLU())",
    "model.lr = 0.01\nnet.conv.weight.data.fill_(1.0)",
    "%matplotlib inline\nimport sys\nprint(sys.version)",
    "!echo hello",
    "n = sum(1 for m in net.modules() if isinstance(m, nn.Conv2d))",
    "try:\n    import convbook\nexcept ImportError:\n    %pip install -q convbook",
    "def broken(:\n    pass",  # a syntax error costs points by itself
    "%time y = torch.ones(3).sum()",
    "%load_ext autoreload\n%autoreload 2\n%pdb on\n%matplotlib inline",
    "%%capture out\nprint(torch.ones(2))",
    "x = torch.zeros(2, dtype=torch.float64)\nnet.to(torch.device('cpu'))",
    # an 8.1 answer that was flagged: the class name of a module, read the long way
    "counts[module.__class__.__name__] += owned",
    "same = isinstance(a, b.__class__)",
]


@pytest.mark.parametrize("source", PATCHES)
def test_scan_flags_patching_and_dynamic_tricks(source):
    assert scan_source(source), source


@pytest.mark.parametrize("source", HONEST)
def test_scan_accepts_ordinary_course_code(source):
    assert scan_source(source) == []


def test_scan_reports_the_line():
    assert scan_source("x = 1\ntorch.allclose = len") == [
        "line 2: assigns torch.allclose (monkeypatching torch)"
    ]


def _run_with_guards(student_source: str) -> tuple[Guard, list]:
    guard = Guard()
    setup = guard.setup_cell("import torch\nfrom convbook.checks import assert_equal", {}, ())
    cells = [setup, nbformat.v4.new_code_cell(student_source), guard.check_cell()]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, allow_errors=True, timeout=60).execute()
    return guard, nb.cells


@pytest.mark.slow
def test_guard_cells_catch_patches_the_scan_never_saw():
    source = (
        "import torch\nlib = [torch]\nfor m in lib:\n"
        "    m.allclose = lambda *a, **k: True\n"
        "    m.Tensor.__eq__ = lambda self, other: True\n"
        "get_ipython().input_transformers_post.append(lambda lines: lines)"
    )
    guard, cells = _run_with_guards(source)
    assert guard.verdict(cells[0]) is None  # the setup ran before the student
    verdict = guard.verdict(cells[2])
    assert "torch.allclose" in verdict and "torch.Tensor.__eq__" in verdict
    assert "IPython hooks" in verdict


@pytest.mark.slow
def test_guard_cells_notice_when_their_own_output_is_suppressed():
    source = "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])"
    guard, cells = _run_with_guards(source)
    assert "did not run as expected" in guard.verdict(cells[2])


@pytest.mark.slow
def test_guard_cells_pass_an_honest_notebook():
    guard, cells = _run_with_guards("import torch\nfrom torch import nn\nx = torch.ones(2) * 2")
    assert [guard.verdict(c) for c in cells[::2]] == [None, None]


@pytest.mark.slow
def test_guard_accepts_torchs_own_rebinding():
    # import torch._dynamo wraps torch.manual_seed: PyTorch's doing, not the student's
    guard, cells = _run_with_guards("import torch._dynamo\ntorch.manual_seed(0)")
    assert [guard.verdict(c) for c in cells[::2]] == [None, None]


@pytest.mark.slow
def test_a_test_cell_sees_the_course_helpers_whatever_the_notebook_redefines():
    context = "import torch\nfrom convbook.checks import assert_equal"
    student = (
        "def assert_equal(*args, **kwargs):\n    return None\n"
        "def range(*args):\n    return []\n"
        "torch = None\n"
        "def answer():\n    return 41\n"
        "print('history:', [entry for entry in In if 'manual' + '_seed' in entry])"
    )
    test = "torch.manual_seed(0)\nfor _ in range(1):\n    assert_equal(42, answer(), 'answer()')"
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(student),
            nbformat.v4.new_code_cell(test, metadata={"nbgrader": {
                "grade": True, "solution": False, "locked": True, "grade_id": "test_answer",
                "points": 1}}),
        ]
    )  # fmt: skip
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    preprocessor = SandboxedExecute(timeout=60, context=context, answers=["answer"])
    nb, _ = preprocessor.preprocess(nb, {"metadata": {"path": "."}})
    student_cell, test_cell = nb.cells
    assert test_cell.source == test  # the feedback shows the test as written
    errors = [o for o in test_cell.outputs if o.output_type == "error"]
    assert errors and errors[0].ename == "CheckFailed", test_cell.outputs
    assert "answer(): expected 42, got 41" in errors[0].evalue
    assert "history: []" in student_cell.outputs[0].text  # the tests never were in In
    assert "manual_seed" not in str(test_cell.outputs)  # nor in the traceback
    assert [kind for kind, _ in preprocessor.events if kind != "seconds"] == []
