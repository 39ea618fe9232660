"""The grader's channel to a kernel (convbook.grading.harness): data in, data out, bounded.

One plain kernel (no jail: the jail is sandbox's to test) runs a few definitions; the
harness calls them as a test would.
"""

import time

import pytest
import torch
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync

from convbook import checks
from convbook.grading.execute import CappedKernelClient
from convbook.grading.harness import AnswerTimeout, Harness, KernelChannel, Remote

DEFINITIONS = """
import time
import torch
from torch import nn

def double(x):
    return 2 * x

def picky(n):
    if n < 0:
        raise ValueError("n must be >= 0")
    return n

def sleepy():
    time.sleep(30)

class Twice(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(2.0))

    def forward(self, x):
        return self.scale * x
"""


@pytest.fixture(scope="module")
def harness():
    manager = AsyncKernelManager(kernel_name="python3", client_factory=CappedKernelClient)
    run_sync(manager.start_kernel)()
    client = manager.client()
    assert isinstance(client, CappedKernelClient)
    client.start_channels()
    run_sync(client.wait_for_ready)(timeout=60)
    channel = KernelChannel(client, manager, timeout=20, max_reply_bytes=1 << 20)
    msg_id = client.execute(DEFINITIONS)
    assert channel._wait_idle(msg_id, time.monotonic() + 60)
    channel.open()
    grader = Harness(channel, "import torch\n", ("double", "picky", "sleepy", "Twice"), {}, {})
    yield grader
    client.stop_channels()
    run_sync(manager.shutdown_kernel)(now=True)


def _answers(grader) -> dict:
    return grader._wrap(grader.channel.request({"op": "lookup", "names": list(grader.answers)}))


def test_an_answer_is_called_with_data_and_returns_data(harness):
    double = _answers(harness)["double"]
    assert isinstance(double, Remote)
    x = torch.randn(3, 4)
    got = double(x)
    assert type(got) is torch.Tensor and torch.equal(got, 2 * x)
    assert double((1, 2)) == (1, 2, 1, 2)


def test_the_answers_exception_is_raised_here_as_its_builtin_class(harness):
    picky = _answers(harness)["picky"]
    with pytest.raises(ValueError, match="n must be >= 0"):
        picky(-1)


def test_a_module_answer_lives_in_the_kernel_and_is_read_back_as_data(harness):
    with checks.graded_by(harness):
        _module_answer(harness)


def _module_answer(harness):
    twice = _answers(harness)["Twice"]()
    assert checks.is_a(twice, torch.nn.Module) and checks.class_path(twice).endswith("Twice")
    assert torch.equal(twice(torch.ones(2)), torch.full((2,), 2.0))
    checks.load_state(twice, {"scale": torch.tensor(5.0)})
    assert checks.state_of(twice)["scale"].item() == 5.0
    found = checks.gradients(twice, [torch.ones(3)], torch.ones(3), wrt=[0])
    assert torch.equal(found["inputs"][0], torch.full((3,), 5.0))
    assert found["parameters"]["scale"].item() == 3.0


def test_an_answer_that_never_returns_is_interrupted_and_the_kernel_goes_on(harness):
    answers = _answers(harness)
    harness.channel.timeout = 2
    started = time.monotonic()
    with pytest.raises(AnswerTimeout):
        answers["sleepy"]()
    harness.channel.timeout = 20
    assert time.monotonic() - started < 15
    assert answers["picky"](3) == 3


def test_a_kernel_that_fakes_the_reply_cannot_pass_off_code_or_a_second_reply(harness):
    client, channel = harness.channel.client, harness.channel
    spoof = (
        "import convbook.grading.server as s\n"
        's.answer = lambda text: \'{"ok": true, "value": {"$": "pickle", "v": "x"}}\''
    )
    assert channel._wait_idle(client.execute(spoof), time.monotonic() + 30)
    with pytest.raises(ValueError, match="unknown value tag"):
        channel.request({"op": "hello"})
