"""Batch normalization from scratch against PyTorch's layers, and BN-LeNet (section 8.5)."""

import io

import pytest
import torch
from torch import nn

from convbook.models import BatchNorm, BNLeNet, BNLeNetScratch, batch_norm


def _pair(num_dims: int, num_features: int = 3) -> tuple[BatchNorm, nn.Module]:
    reference = nn.BatchNorm2d(num_features) if num_dims == 4 else nn.BatchNorm1d(num_features)
    return BatchNorm(num_features, num_dims), reference


def _inputs(num_dims: int, steps: int = 3) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    shape = (8, 3, 5, 4) if num_dims == 4 else (8, 3)
    return [torch.randn(shape, generator=gen) * 2.5 + 1.5 for _ in range(steps)]


def _running(layer: BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    return layer.moving_mean.reshape(-1), layer.moving_var.reshape(-1)


@pytest.mark.parametrize("num_dims", [2, 4])
def test_scratch_batchnorm_equals_pytorch_in_train_mode_including_running_statistics(num_dims):
    scratch, reference = _pair(num_dims)
    for x in _inputs(num_dims):
        torch.testing.assert_close(scratch(x), reference(x))
        mean, var = _running(scratch)
        torch.testing.assert_close(mean, reference.running_mean)
        torch.testing.assert_close(var, reference.running_var)  # unbiased, as PyTorch keeps


@pytest.mark.parametrize("num_dims", [2, 4])
def test_scratch_batchnorm_equals_pytorch_in_eval_mode_and_leaves_statistics_alone(num_dims):
    scratch, reference = _pair(num_dims)
    inputs = _inputs(num_dims, steps=4)
    for x in inputs[:3]:
        scratch(x), reference(x)
    scratch.eval(), reference.eval()
    before = [t.clone() for t in _running(scratch)]
    torch.testing.assert_close(scratch(inputs[3]), reference(inputs[3]))
    for now, then in zip(_running(scratch), before, strict=True):
        torch.testing.assert_close(now, then)


@pytest.mark.parametrize("num_dims", [2, 4])
def test_scratch_batchnorm_gradients_equal_pytorch(num_dims):
    scratch, reference = _pair(num_dims)
    x = _inputs(num_dims, steps=1)[0]
    x_scratch, x_reference = x.clone().requires_grad_(), x.clone().requires_grad_()
    (scratch(x_scratch) ** 3).sum().backward()
    (reference(x_reference) ** 3).sum().backward()
    torch.testing.assert_close(x_scratch.grad, x_reference.grad)
    # gamma's and beta's gradients sum cubes over every position: values near 50 whose
    # float32 rounding depends on the CPU's reduction order (2e-6 relative seen with
    # ATEN_CPU_CAPABILITY=default), so compare them at that precision.
    tolerance = {"rtol": 1e-5, "atol": 1e-4}
    torch.testing.assert_close(scratch.gamma.grad.reshape(-1), reference.weight.grad, **tolerance)
    torch.testing.assert_close(scratch.beta.grad.reshape(-1), reference.bias.grad, **tolerance)


def test_scratch_batchnorm_follows_module_mode_not_grad_mode():
    layer = BatchNorm(3, num_dims=2)
    x = _inputs(2, steps=1)[0]
    with torch.no_grad():  # d2l would switch to the running statistics here
        y = layer(x)
    torch.testing.assert_close(y.mean(dim=0), torch.zeros(3), atol=1e-6, rtol=0)
    assert not torch.equal(layer.moving_mean, torch.zeros(1, 3))  # and it updated them
    layer.eval()
    x.requires_grad_()  # d2l would use minibatch statistics here
    torch.testing.assert_close(
        layer(x), (x - layer.moving_mean) / torch.sqrt(layer.moving_var + 1e-5)
    )


def test_scratch_batchnorm_running_statistics_survive_a_state_dict_round_trip():
    layer = BatchNorm(3, num_dims=4)
    for x in _inputs(4):
        layer(x)
    assert set(layer.state_dict()) == {"gamma", "beta", "moving_mean", "moving_var"}
    buffer = io.BytesIO()
    torch.save(layer.state_dict(), buffer)
    buffer.seek(0)
    restored = BatchNorm(3, num_dims=4)
    restored.load_state_dict(torch.load(buffer))
    torch.testing.assert_close(restored.moving_mean, layer.moving_mean)
    torch.testing.assert_close(restored.moving_var, layer.moving_var)
    layer.eval(), restored.eval()
    x = _inputs(4, steps=1)[0]
    torch.testing.assert_close(restored(x), layer(x))


def test_scratch_batchnorm_statistics_move_with_to():
    layer = BatchNorm(3, num_dims=4).to(torch.float64)
    assert layer.moving_mean.dtype == layer.moving_var.dtype == torch.float64
    assert {name for name, _ in layer.named_buffers()} == {"moving_mean", "moving_var"}


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_scratch_batchnorm_statistics_move_to_the_gpu():
    layer = BatchNorm(3, num_dims=4).to("cuda")
    assert layer.moving_mean.is_cuda and layer.moving_var.is_cuda
    layer(torch.randn(4, 3, 2, 2, device="cuda"))


def test_batch_norm_function_rejects_3d_input():
    stats = torch.zeros(1, 3)
    with pytest.raises(ValueError, match=r"\(2, 3, 4\)"):
        batch_norm(torch.zeros(2, 3, 4), stats, stats, stats, stats, 1e-5, 0.1, True)


def test_batchnorm_rejects_wrong_num_dims_and_wrong_input_rank():
    with pytest.raises(ValueError, match="num_dims"):
        BatchNorm(3, num_dims=3)
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        BatchNorm(3, num_dims=4)(torch.zeros(2, 3))


@pytest.mark.parametrize("model_class", [BNLeNetScratch, BNLeNet])
def test_bn_lenet_gives_ten_logits_at_d2l_input_size_28(model_class):
    torch.manual_seed(0)
    assert model_class()(torch.randn(4, 1, 28, 28)).shape == (4, 10)


def test_scratch_and_library_bn_lenet_agree_with_the_same_weights():
    torch.manual_seed(0)
    x = torch.randn(16, 1, 28, 28)
    scratch, library = BNLeNetScratch(), BNLeNet()
    scratch(x), library(x)
    library_state = [
        value for name, value in library.state_dict().items() if "num_batches" not in name
    ]
    with torch.no_grad():  # same order: weight/gamma, bias/beta, running/moving mean and var
        for value, other in zip(scratch.state_dict().values(), library_state, strict=True):
            value.copy_(other.reshape(value.shape))
    torch.testing.assert_close(scratch(x), library(x))
    scratch.eval(), library.eval()
    torch.testing.assert_close(scratch(x), library(x))


@pytest.mark.parametrize("model_class", [BNLeNetScratch, BNLeNet])
def test_bn_lenet_loss_drops_on_a_fixed_small_batch(model_class, sgd_losses):
    torch.manual_seed(0)
    x, y = torch.randn(16, 1, 28, 28), torch.arange(16) % 10
    losses = sgd_losses(model_class(lr=0.1), x, y, steps=5)
    assert losses[-1] < 0.8 * losses[0]
