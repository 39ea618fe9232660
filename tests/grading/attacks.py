"""The attack corpus: real submissions of the course's assignments that try to earn points
they did not, or to read or break what they should not (issue 12).

Each kind is one student's submission, built from the release (``exercises/``) or the
solution. ``expect`` says what ``convbook grade`` must give it:

* ``"zero"``: every autograded point lost (the answers are wrong; the trick must not help);
* ``"full"``: every autograded point, status ``graded`` (the answers are right; the trick
  must neither help nor cost points, and must find nothing);
* ``"any"``: a resource attack; it must only be stopped, and leave the batch grading.

A kind is ``(builder, expect)`` for 7.5, or ``(builder, expect, assignment)``.

``tests/test_fresh_install.py`` grades them all with the console script of a wheel install.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
SLUG = "7_5_pooling"


def assignment_of(kind: tuple) -> str:
    """The assignment a kind submits to (7.5 unless it says otherwise)."""
    return kind[2] if len(kind) > 2 else SLUG


# Wrong answers to every 7.5 item: each returns a value of a plausible type.
WRONG_75 = {
    "avg_pool_conv": "def avg_pool_conv(X, kernel_size, stride, padding):\n"
    "    return torch.zeros(1)",
    "max_relu": "def max_relu(a, b):\n    return a",
    "max_pool_conv": "def max_pool_conv(X, size):\n    return torch.zeros(1)",
    "min_pool": "def min_pool(X, size):\n    return torch.zeros(1)",
    "max_pool_comparisons": "def max_pool_comparisons(channels, input_hw, window, padding,"
    " stride):\n    return 48",  # right only for the visible example
}


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def solution(slug: str = SLUG) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "solutions" / slug / f"{slug}.ipynb", as_version=4)


def release(slug: str = SLUG) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "exercises" / slug / f"{slug}.ipynb", as_version=4)


def answered(answers: dict[str, str], base: nbformat.NotebookNode | None = None):
    """The release (or ``base``) with the given solution cells replaced."""
    nb = copy.deepcopy(base if base is not None else release())
    for cell in nb.cells:
        if _grade_id(cell) in answers:
            cell.source = answers[_grade_id(cell)]
    return nb


def wrong(trick: str, where: str = "avg_pool_conv", after: bool = False):
    """Every 7.5 answer wrong, with ``trick`` before (or after) the code of one answer cell."""
    answers = dict(WRONG_75)
    answers[where] = f"{answers[where]}\n\n{trick}" if after else f"{trick}\n\n{answers[where]}"
    return answered(answers)


def right(trick: str, where: str = "avg_pool_conv", slug: str = SLUG, replace: str = ""):
    """The release with the solution's answers (so no hidden tests in the student's own
    file), with ``trick`` added at the top of one answer cell (or that cell ``replace``d)."""
    answers = {
        _grade_id(cell): cell.source
        for cell in solution(slug).cells
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
    answers[where] = replace or f"{trick}\n\n{answers[where]}"
    return answered(answers, release(slug))


def _snoop(paths_expr: str) -> str:
    """Code that collects what it could read into ``found`` and prints it."""
    return (
        "import glob, os\n"
        f"found = []\nfor path in {paths_expr}:\n"
        "    try:\n"
        "        with open(path, 'rb') as handle:\n"
        "            text = handle.read().decode('utf-8', 'replace')\n"
        # the markers are split so that this cell's own source does not match them
        "        if 'BEGIN HIDDEN' + ' TESTS' in text or 'manual_seed(' + '751)' in text:\n"
        "            found.append(path)\n"
        "    except OSError:\n        pass\n"
        "print('LEAKED', found)"
    )


HIDDEN_LINE = "torch.manual_seed(751)"  # a line of 7.5's hidden tests

KINDS = {
    # 1. finding 2: redefine the check helpers the test cells call
    "redefines_check_helpers": (
        lambda: wrong(
            "def assert_close_to(*args, **kwargs):\n    return None\n\n"
            "def assert_equal(*args, **kwargs):\n    return None"
        ),
        "zero",
    ),
    # 2. finding 2: redefine the reference the tests compare with
    "redefines_reference_pool2d": (
        lambda: wrong("def pool2d(*args, **kwargs):\n    return torch.zeros(1)"),
        "zero",
    ),
    # 3. shadow a builtin the hidden loops use: the loops would run zero times
    "shadows_builtin_range": (lambda: wrong("def range(*args):\n    return []"), "zero"),
    # 4. shadow the torch the tests use with a stand-in
    "shadows_torch": (
        lambda: wrong(
            "class Anything:\n    def __call__(self, *a, **k):\n        return self\n"
            "    def __getattr__(self, name):\n        return self\n"
            "    def __iter__(self):\n        return iter(())\n\ntorch = Anything()",
            where="max_pool_comparisons",
            after=True,
        ),
        "zero",
    ),
    # 5. turn forbid() off and use the forbidden operation
    "redefines_forbid": (
        lambda: answered(
            {
                **WRONG_75,
                "avg_pool_conv": "import contextlib\n\n"
                "def forbid(*names, **kwargs):\n    return contextlib.nullcontext()\n\n"
                "def avg_pool_conv(X, kernel_size, stride, padding):\n"
                "    return F.avg_pool2d(X, kernel_size, stride, padding)",
            }
        ),
        "zero",
    ),
    # 6. empty the locked list of forbidden operations
    "empties_forbidden_list": (
        lambda: answered(
            {
                **WRONG_75,
                "avg_pool_conv": "NO_AVERAGE = ()\n\n"
                "def avg_pool_conv(X, kernel_size, stride, padding):\n"
                "    return F.avg_pool2d(X, kernel_size, stride, padding)",
            }
        ),
        "zero",
    ),
    # 7. finding 3: glob for notebooks in the working folder and every parent
    "reads_hidden_tests_by_glob": (
        lambda: right(
            _snoop(
                "[p for k in range(6) for pattern in ['*.ipynb', '*/*.ipynb', '*/*/*/*.ipynb']"
                " for p in glob.glob(os.path.join(os.getcwd(), '../' * k, pattern))]"
            )
        ),
        "full",
    ),
    # 8. finding 5: reach hidden folders by relative paths
    "reads_hidden_tests_by_relative_path": (
        lambda: right(
            _snoop(
                "[os.path.join('../' * k, p) for k in range(1, 8) for p in"
                " ['solutions/7_5_pooling/7_5_pooling.ipynb', 'course/solutions/7_5_pooling/"
                "7_5_pooling.ipynb', 'gradebook.db', 'db/gradebook.db']]"
            )
        ),
        "full",
    ),
    # 9. patch a torch function directly
    "patches_torch_isclose": (
        lambda: wrong("torch.isclose = lambda a, b, **k: torch.ones_like(a, dtype=torch.bool)"),
        "zero",
    ),
    # 10. patch through functools.partial(setattr, ...), which no name-based scan sees
    "patches_via_partial_setattr": (
        lambda: wrong(
            "import functools\n"
            "functools.partial(setattr, torch)('isclose', lambda a, b, **k: a == a)"
        ),
        "zero",
    ),
    # 11. replace a name in the kernel's namespace through IPython
    "replaces_user_namespace": (
        lambda: wrong("ip = get_ipython()\nip.user_ns['assert_close_to'] = lambda *a, **k: None"),
        "zero",
    ),
    # 12. finding 5: hide the patch inside a cell magic
    "patches_inside_capture_magic": (
        lambda: answered(
            {
                **WRONG_75,
                "avg_pool_conv": "%%capture\n"
                "torch.isclose = lambda a, b, **k: torch.ones_like(a, dtype=torch.bool)\n"
                + WRONG_75["avg_pool_conv"],
            }
        ),
        "zero",
    ),
    # 13. finding 5: hide the patch inside a line magic
    "patches_inside_time_magic": (
        lambda: wrong(
            "%time torch.isclose = lambda a, b, **k: torch.ones_like(a, dtype=torch.bool)"
        ),
        "zero",
    ),
    # 14. finding 5: run a file the scan never reads
    "runs_a_file_with_run_magic": (
        lambda: wrong(
            "import os\npath = os.path.join(os.environ['HOME'], 'patch.py')\n"
            "with open(path, 'w') as handle:\n"
            "    handle.write('import torch\\ntorch.isclose = lambda a, b, **k: a == a\\n')\n"
            "%run -i $path"
        ),
        "zero",
    ),
    # 15. write a module and import it
    "imports_a_module_it_wrote": (
        lambda: wrong(
            "import os, sys\nfor folder in [os.getcwd(), os.environ['HOME']]:\n"
            "    try:\n"
            "        with open(os.path.join(folder, 'helper_patch.py'), 'w') as handle:\n"
            "            handle.write('import torch\\n'\n"
            "                         'torch.isclose = lambda a, b, **k: a == a\\n')\n"
            "    except OSError:\n        pass\n"
            "sys.path.insert(0, os.environ['HOME'])\nimport helper_patch"
        ),
        "zero",
    ),
    # 16. run code from a pickle, out of the scan's sight
    "loads_a_pickle": (
        lambda: wrong("import pickle\npickle.loads(b'cos\\nsystem\\n(S\"true\"\\ntR.')"),
        "zero",
    ),
    # 17. patch from a thread, between two guard checks
    "patches_from_a_thread": (
        lambda: wrong(
            "import threading, time\n\ndef later():\n    time.sleep(0.5)\n"
            "    torch.isclose = lambda a, b, **k: a == a\n\n"
            "threading.Thread(target=later, daemon=True).start()"
        ),
        "zero",
    ),
    # 18. a tensor subclass that says it equals anything
    "tensor_subclass_equal_to_all": (
        lambda: answered(
            {
                **WRONG_75,
                "max_relu": "class Anything(torch.Tensor):\n"
                "    def __eq__(self, other):\n        return True\n\n"
                "def max_relu(a, b):\n    return a.as_subclass(Anything)",
            }
        ),
        "zero",
    ),
    # 19. a module alias kept in a list, then patched
    "patches_through_an_alias_list": (
        lambda: wrong("for lib in [torch]:\n    lib.isclose = lambda a, b, **k: a == a"),
        "zero",
    ),
    # 20. an object whose == is always True, for assert_equal
    "object_equal_to_all": (
        lambda: answered(
            {
                **WRONG_75,
                "max_pool_comparisons": "class Yes(int):\n"
                "    def __eq__(self, other):\n        return True\n"
                "    def __ne__(self, other):\n        return False\n\n"
                "def max_pool_comparisons(*args):\n    return Yes(0)",
            }
        ),
        "zero",
    ),
    # 21. a fake guard verdict printed by the student
    "prints_fake_guard_verdicts": (
        lambda: wrong(
            "for _ in range(50):\n    print('CONVBOOK-GUARD setup ok')\n"
            "torch.isclose = lambda a, b, **k: a == a"
        ),
        "zero",
    ),
    # 22. finding 5: several processes, each under the per-process memory limit
    "forks_to_multiply_memory": (
        lambda: right(
            "import os, time\nchildren = []\nfor _ in range(6):\n    pid = os.fork()\n"
            "    if pid == 0:\n        block = bytearray(1500 << 20)\n"
            "        for i in range(0, len(block), 4096):\n            block[i] = 1\n"
            "        time.sleep(5)\n        os._exit(0)\n    children.append(pid)\n"
            "for pid in children:\n    os.waitpid(pid, 0)"
        ),
        "any",  # the cgroup stops it; what matters is the next kinds still grade
    ),
    # 23. a fork bomb
    "fork_bomb": (
        lambda: right(
            "import os, time\nfor _ in range(10_000):\n    try:\n        if os.fork() == 0:\n"
            "            time.sleep(30)\n            os._exit(0)\n    except OSError:\n"
            "        break"
        ),
        "any",
    ),
    # 24. finding 5: leave code in the Python install for later kernels and graders
    "writes_into_site_packages": (
        lambda: right(
            "import os, sys\nwritten = []\n"
            "for folder in [os.path.dirname(os.path.dirname(torch.__file__)), sys.prefix]:\n"
            "    try:\n"
            "        with open(os.path.join(folder, 'zz_convbook_attack.pth'), 'w') as f:\n"
            "            f.write('import os\\n')\n"
            "        written.append(folder)\n"
            "    except OSError:\n        pass\nprint('WROTE', written)"
        ),
        "full",
    ),
    # 25. reach the network
    "opens_a_network_connection": (
        lambda: right(
            "import socket\nreached = []\nfor host in ['127.0.0.1', '10.0.0.1', '1.1.1.1']:\n"
            "    try:\n        socket.create_connection((host, 80), timeout=2).close()\n"
            "        reached.append(host)\n    except OSError:\n        pass\n"
            "print('REACHED', reached)"
        ),
        "full",
    ),
    # 26. replace sys.stdout so test output (and errors) vanish
    "replaces_stdout": (
        lambda: wrong("import io, sys\nsys.stdout = io.StringIO()\nsys.stderr = io.StringIO()"),
        "zero",
    ),
    # 27. swallow every exception with IPython's custom exception hook
    "swallows_errors_with_custom_exc": (
        lambda: wrong("get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)"),
        "zero",
    ),
    # 28. edit the test cells (nbgrader puts them back)
    "edits_test_cells": (
        lambda: _edit_tests(answered(WRONG_75)),
        "zero",
    ),
    # 29. exit the kernel in the first answer: nothing after it can score
    "exits_the_kernel": (lambda: wrong("import os\nos._exit(0)"), "zero"),
    # 30. read the tests back from IPython's input history, from inside an answer that the
    #     tests call (so after the grader's own cells ran)
    "reads_tests_from_history": (
        lambda: right(
            "",
            where="max_pool_comparisons",
            replace="def max_pool_comparisons(channels, input_hw, window, padding, stride):\n"
            "    found = [entry for entry in In + _ih\n"
            "             if 'manual_seed(' + '751)' in entry\n"
            "             or 'BEGIN HIDDEN' + ' TESTS' in entry]\n"
            "    print('LEAKED', found[:1])\n"
            "    h_out, w_out = conv_output_shape(input_hw, window, padding, stride)\n"
            "    return channels * h_out * w_out * (window[0] * window[1] - 1)",
        ),
        "full",
    ),
    # 31. 8.6: wrong blocks, and the references the tests count parameters with redefined
    "redefines_references_8_6": (
        lambda: answered(
            {
                "bottleneck": "class Bottleneck(nn.Module):\n"
                "    def __init__(self, *args, **kwargs):\n        super().__init__()\n"
                "    def forward(self, x):\n        return x\n\n"
                "class ResNeXtBlock(nn.Module):\n"
                "    def __init__(self, *args, **kwargs):\n        super().__init__()\n"
                "    def forward(self, x):\n        return x\n\n"
                "def assert_equal(*args, **kwargs):\n    return None\n\n"
                "def assert_close_to(*args, **kwargs):\n    return None",
                "preact_residual": "class PreActResidual(nn.Module):\n"
                "    def __init__(self, *args, **kwargs):\n        super().__init__()\n"
                "    def forward(self, x):\n        return x\n\n"
                "Residual = PreActResidual",
                "resnext_param_count": "def resnext_param_count(*args):\n    return 0",
            },
            release("8_6_resnet"),
        ),
        "zero",
        "8_6_resnet",
    ),
    # 32. 8.1: count parameters with a patched nn.Module.parameters
    "patches_module_parameters_8_1": (
        lambda: answered(
            {
                "count_parameters": "def count_parameters(net, x_shape):\n    return 0\n\n"
                "nn.Module.parameters = lambda self, recurse=True: iter(())",
                "parameters_by_layer_type": "def parameters_by_layer_type(net, x_shape):\n"
                "    return {}",
            },
            release("8_1_alexnet"),
        ),
        "zero",
        "8_1_alexnet",
    ),
}


# Issue 21: the tests run in the grader's process, so nothing the kernel does reaches them.
SECRET = "hunter2-convbook-secret"  # set in DATABASE_URL and GH_PAT of the grading run
_FIND_HIDDEN = (
    "import gc, linecache, sys\n"
    "marks = ('BEGIN HIDDEN' + ' TESTS', 'manual_seed(' + '751)')\n"
    "texts = [t for t in gc.get_objects() if isinstance(t, str)]\n"
    "texts += [''.join(v[2]) for v in list(linecache.cache.values()) if len(v) > 2]\n"
    "texts += [str(getattr(f, '__closure__', ''))\n"
    "          for f in gc.get_objects() if callable(f)][:5000]\n"
    "print('LEAKED', sorted({m for m in marks for t in texts if m in t}))\n"
)
KINDS.update(
    {
        # 44b. rewrite every function of every module the tests could use, in the kernel
        "rewrites_every_function_it_can_reach": (
            lambda: wrong(
                "import sys, builtins\n"
                "def agree(*args, **kwargs):\n    return True\n"
                "for name, module in list(sys.modules.items()):\n"
                "    prefixes = ('torch', 'numpy', 'convbook', 'math')\n"
                "    if module is None or not name.startswith(prefixes):\n"
                "        continue\n"
                "    for attribute, value in list(vars(module).items()):\n"
                "        if callable(value) and not isinstance(value, type):\n"
                "            try:\n                setattr(module, attribute, agree)\n"
                "            except Exception:\n                pass\n"
                "for attribute in ('all', 'any', 'isinstance', 'len', 'sum', 'abs'):\n"
                "    setattr(builtins, attribute, agree)",
                where="max_pool_comparisons",
                after=True,
            ),
            "zero",
        ),
        # 45. the grader's modules in the kernel swapped: every "verdict" there says ok
        "swaps_the_graders_modules": (
            lambda: wrong(
                "import sys, types\nimport convbook.checks as checks\n"
                "import convbook.grading.server as server\n"
                "checks.assert_close_to = checks.assert_equal = lambda *a, **k: None\n"
                "sys.modules['convbook.grading.harness'] = types.ModuleType('fake')\n"
                'server.answer = lambda text: \'{"ok": true, "value": 48}\''
            ),
            "zero",
        ),
        # 46. the stream a verdict could be printed to rewritten
        "rewrites_its_output_streams": (
            lambda: wrong(
                "import sys\nclass Rewrite:\n    def __init__(self, inner):\n"
                "        self.inner = inner\n"
                "    def write(self, text):\n"
                "        return self.inner.write(text.replace('Error', '').replace('fail', 'ok'))\n"
                "    def flush(self):\n        self.inner.flush()\n"
                "sys.stdout, sys.stderr = Rewrite(sys.stdout), Rewrite(sys.stderr)"
            ),
            "zero",
        ),
        # 47. the answer walks up the stack for the test's expected value and asserts
        "walks_the_stack_for_the_expected_value": (
            lambda: answered(
                {
                    **WRONG_75,
                    "max_pool_comparisons": "import sys\n\n"
                    "def max_pool_comparisons(*args):\n    frame = sys._getframe(1)\n"
                    "    while frame is not None:\n"
                    "        for name in ('assert_equal', 'assert_close_to'):\n"
                    "            frame.f_globals[name] = lambda *a, **k: None\n"
                    "        if 'expected' in frame.f_locals:\n"
                    "            return frame.f_locals['expected']\n"
                    "        frame = frame.f_back\n    return 0",
                }
            ),
            "zero",
        ),
        # 48-50. a rule switched off from inside the answer
        "disables_the_torch_function_trace": (
            lambda: answered(
                {
                    **WRONG_75,
                    "max_relu": "def max_relu(a, b):\n    with torch._C.DisableTorchFunction():\n"
                    "        return torch.maximum(a, b)",
                    "min_pool": "def min_pool(X, size):\n"
                    "    with torch._C.DisableTorchFunction():\n"
                    "        return torch.nn.functional.max_pool2d(X, size) * 0 + torch.amin(\n"
                    "            X.unfold(2, size, size).unfold(3, size, size), dim=(-1, -2))",
                }
            ),
            "zero",
        ),
        "pops_the_rule_mode": (
            lambda: answered(
                {
                    **WRONG_75,
                    "max_relu": "def max_relu(a, b):\n"
                    "    with torch.overrides._pop_mode_temporarily():\n"
                    "        return torch.maximum(a, b)",
                }
            ),
            "zero",
        ),
        "calls_aten_overloads": (
            lambda: answered(
                {
                    **WRONG_75,
                    "avg_pool_conv": "def avg_pool_conv(X, kernel_size, stride, padding):\n"
                    "    return torch.ops.aten.avg_pool2d.default(X, list(kernel_size),"
                    " list(stride), list(padding))",
                    "max_relu": "def max_relu(a, b):\n"
                    "    return torch.ops.aten.maximum.default(a, b)",
                }
            ),
            "zero",
        ),
        # 51. the allow-lists rebound in the kernel, then a forbidden operation
        "rebinds_the_allow_lists": (
            lambda: answered(
                {
                    **WRONG_75,
                    "max_relu": "import convbook.allowed, convbook.checks\n"
                    "for module in (convbook.allowed, convbook.checks):\n"
                    "    module.RELU = module.RELU + ('torch.maximum',)\n"
                    "RELU_AND_ARITHMETIC = RELU_AND_ARITHMETIC + ('torch.maximum',)\n\n"
                    "def max_relu(a, b):\n    return torch.maximum(a, b)",
                }
            ),
            "zero",
        ),
        # 52. a class whose metaclass says every comparison is equal
        "metaclass_says_equal": (
            lambda: answered(
                {
                    **WRONG_75,
                    "max_pool_comparisons": "class Always(type):\n"
                    "    def __eq__(cls, other):\n        return True\n"
                    "    def __ne__(cls, other):\n        return False\n"
                    "    __hash__ = type.__hash__\n\n"
                    "class Count(metaclass=Always):\n    pass\n\n"
                    "def max_pool_comparisons(*args):\n    return Count",
                }
            ),
            "zero",
        ),
        # 53. the reference the hidden test computes its expected value with, patched
        "patches_the_reference_layer": (
            lambda: answered(
                {
                    **WRONG_75,
                    "max_pool_comparisons": "nn.MaxPool2d.forward = "
                    "lambda self, x: torch.zeros(1, 1)\n"
                    "F.max_pool2d = lambda *a, **k: torch.zeros(1, 1)\n\n"
                    "def max_pool_comparisons(*args):\n    return 0",
                }
            ),
            "zero",
        ),
        # 54. right answers that look everywhere in the kernel for hidden tests
        "searches_memory_for_hidden_tests": (lambda: right(_FIND_HIDDEN), "full"),
        "searches_memory_for_hidden_tests_from_an_answer": (
            lambda: right(
                "",
                where="max_pool_comparisons",
                replace="def max_pool_comparisons(channels, input_hw, window, padding, stride):\n"
                + "".join(f"    {line}\n" for line in _FIND_HIDDEN.splitlines())
                + "    h_out, w_out = conv_output_shape(input_hw, window, padding, stride)\n"
                "    return channels * h_out * w_out * (window[0] * window[1] - 1)",
            ),
            "full",
        ),
        # 55. the instructor's environment: no secret reaches the kernel
        "reads_the_environment": (
            lambda: right(
                "import os\nfound = [k for k, v in os.environ.items() if "
                "'hunter2' in v or k in ('DATABASE_URL', 'GH_PAT')]\n"
                "try:\n    found += ['init'] if b'hunter2' in open('/proc/1/environ', 'rb').read()"
                " else []\nexcept OSError:\n    pass\nprint('LEAKED', found)"
            ),
            "full",
        ),
        # 56. outputs past every cap: an 8 MB error message, display updates, a long stream
        "outputs_past_the_caps": (
            lambda: right(
                "from IPython.display import display, update_display\n"
                "handle = display({'text/plain': 'x'}, raw=True, display_id='grow')\n"
                "for _ in range(4):\n"
                "    update_display({'text/plain': 'y' * (4 << 20)}, raw=True, display_id='grow')\n"
                "try:\n    raise ValueError('z' * (8 << 20))\nexcept ValueError as error:\n"
                "    import traceback; traceback.print_exc()\n"
                "print('w' * (3 << 20))"
            ),
            "full",
        ),
        "raises_a_huge_error": (
            lambda: right(
                "",
                where="min_pool",
                replace="def min_pool(X, size):\n    return -F.max_pool2d(-X, size)\n\n"
                "raise ValueError('q' * (8 << 20))",
            ),
            "full",
        ),
    }
)


def _edit_tests(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            cell.source = "pass  # trust me"
    return nb


def namespace_attack(slug: str) -> nbformat.NotebookNode:
    """Every answer a do-nothing stand-in, and every non-module name the assignment's locked
    cells import (check helpers, references such as ``pool2d`` or ``ResNeXtBlock``, constants)
    redefined in the notebook to a stand-in that accepts anything."""
    import ast

    from convbook.grading.restore import test_scope

    source = solution(slug)
    context, answers, _ = test_scope(source)
    helpers = []
    for node in ast.walk(ast.parse(context)):
        if isinstance(node, ast.ImportFrom):
            helpers += [a.asname or a.name for a in node.names if a.name[0].islower()]
        elif isinstance(node, ast.Assign):
            helpers += [t.id for t in node.targets if isinstance(t, ast.Name)]
    modules = {"nn", "F", "functional", "init", "ops", "pooling", "checks", "torch", "np"}
    shadow = "".join(
        f"def {name}(*args, **kwargs):\n    return None\n\n"
        for name in helpers
        if name not in modules
    )
    stubs = {}
    for cell in source.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("solution") or cell.cell_type != "code":
            continue
        lines = []
        for node in ast.parse(cell.source).body:
            if isinstance(node, ast.ClassDef):
                lines.append(
                    f"class {node.name}(nn.Module):\n"
                    "    def __init__(self, *args, **kwargs):\n        super().__init__()\n"
                    "    def forward(self, *args):\n        return args[0]\n"
                )
            elif isinstance(node, ast.FunctionDef):
                lines.append(f"def {node.name}(*args, **kwargs):\n    return None\n")
            elif isinstance(node, ast.Assign):
                lines += [f"{t.id} = None\n" for t in node.targets if isinstance(t, ast.Name)]
        stubs[meta["grade_id"]] = "\n".join(lines) or "pass"
    first = next(iter(stubs))
    stubs[first] = f"from torch import nn\n\n{shadow}{stubs[first]}"
    return answered(stubs, release(slug))


ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
for _slug in ASSIGNMENTS:
    # 33-44. on every assignment: the namespace attack of finding 2
    KINDS[f"namespace_{_slug}"] = (
        lambda slug=_slug: namespace_attack(slug),
        "zero",
        _slug,
    )


# Kernels of one worker slot are forked one after another from the same zygote
# (``convbook.grading.zygote``). Graded in this order with ``--jobs 1``, so that all four
# share a slot: what one kernel leaves behind or breaks must not reach the next.
_PLACES = "{os.environ['HOME'], '/tmp', '/dev/shm', tempfile.gettempdir(), os.getcwd()}"
SLOT_SEQUENCE = {
    # leaves a file in every writable place, then stops the zygote it was forked from
    "s1_leaves_files_and_stops_its_zygote": (
        lambda: right(
            f"import os, signal, tempfile\nplanted = []\nfor folder in {_PLACES}:\n"
            "    try:\n        with open(os.path.join(folder, 'convbook-drop.txt'), 'w') as f:\n"
            "            f.write('left by the previous kernel')\n        planted.append(folder)\n"
            "    except OSError:\n        pass\n"
            "print('PLANTED', sorted(planted))\n"
            "deep = '/tmp'\nfor _ in range(1500):\n"
            "    deep = os.path.join(deep, 'd')\n    try:\n        os.mkdir(deep)\n"
            "    except OSError:\n        break\n"
            "os.chdir(os.environ['HOME'])\nfor _ in range(40):\n"
            "    os.mkdir('p' * 200)\n    os.chdir('p' * 200)\n"
            "with open('convbook-drop-deep.txt', 'w') as f:\n    f.write('deep')\n"
            "try:\n    os.kill(os.getppid(), signal.SIGSTOP)\nexcept OSError:\n    pass"
        ),
        "full",
    ),
    # looks for them: it must find nothing, and be graded (the zygote was woken up)
    "s2_looks_for_them": (
        lambda: right(
            f"import os, tempfile\nfound = []\nfor folder in {_PLACES}:\n"
            "    for top, dirs, files in os.walk(folder):\n"
            "        found += [f for f in files if f.startswith('convbook-drop')]\n"
            "        found += ['deep chain'] if top.count('/d') > 50 else []\n"
            "print('LEAKED', sorted(set(found)))"
        ),
        "full",
    ),
    # reads the zygote's memory, then kills it
    "s3_kills_its_zygote": (
        lambda: right(
            "import os, signal\ntry:\n    with open(f'/proc/{os.getppid()}/mem', 'rb') as f:\n"
            "        print('READ', len(f.read(16)))\nexcept OSError as error:\n"
            "    print('READ []', type(error).__name__)\n"
            "try:\n    os.kill(os.getppid(), signal.SIGKILL)\nexcept OSError:\n    pass"
        ),
        "any",
    ),
    # an honest submission after all that: every point (a new zygote was started)
    "s4_honest_after_them": (lambda: solution(), "full"),
}
