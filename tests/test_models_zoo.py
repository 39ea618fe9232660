import pytest
import torch
from torch import nn

from convbook.budget import BUDGETS
from convbook.models import VGG, VGG11_NARROW_ARCH, AlexNet, GoogLeNet, NiN
from convbook.models.zoo import CPU_RECIPES, D2L_ZOO, recipe


@pytest.mark.parametrize("name", list(D2L_ZOO))
def test_every_zoo_model_gives_ten_logits_at_d2l_input_size(name):
    setting = D2L_ZOO[name]
    with torch.device("meta"):  # shapes only: AlexNet and VGG at 224 cost nothing here
        model = setting.build().eval()
        logits = model(torch.empty(1, 1, setting.image_size, setting.image_size))
    assert logits.shape == (1, 10)
    assert 0 < setting.d2l_accuracy < 1 and model.lr > 0


def test_zoo_lists_the_seven_models_of_chapters_7_and_8_with_d2l_accuracies():
    accuracies = {name: s.d2l_accuracy for name, s in D2L_ZOO.items()}
    assert accuracies == {
        "LeNet": 0.73,
        "AlexNet": 0.83,
        "VGG": 0.90,
        "NiN": 0.87,
        "GoogLeNet": 0.80,
        "BN-LeNet": 0.88,
        "ResNet-18": 0.90,
    }


@pytest.mark.parametrize("name", ["AlexNet", "VGG", "NiN", "GoogLeNet"])
def test_width_keeps_that_fraction_of_every_layer_and_the_ten_logits(name):
    build = {"AlexNet": AlexNet, "NiN": NiN, "GoogLeNet": GoogLeNet}.get(
        name, lambda width=1.0: VGG(VGG11_NARROW_ARCH, width=width)
    )
    side = CPU_RECIPES[name].image_size

    def widths(width):
        with torch.device("meta"):
            model = build(width=width).eval()
            assert model(torch.empty(1, 1, side, side)).shape == (1, 10)
        return [m.out_features if isinstance(m, nn.Linear) else m.out_channels
                for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]  # fmt: skip

    full, quarter = widths(1.0), widths(0.25)
    assert quarter == [c if c == 10 else c // 4 for c in full]  # the logits stay 10


@pytest.mark.parametrize("width", [0, 1.5, True, "1/4"])
def test_a_width_outside_0_to_1_is_a_clear_error(width):
    with pytest.raises(ValueError, match="width must be a number in"):
        AlexNet(width=width)


def test_full_budget_recipe_is_d2ls_setting_and_cpu_recipe_says_what_differs():
    alexnet = recipe("AlexNet", BUDGETS["full"])
    assert (alexnet.lr, alexnet.batch_size, alexnet.image_size) == (0.01, 128, 224)
    assert alexnet.epochs(60_000) == alexnet.epochs(1_600) == 10 and alexnet.width == 1
    cpu = recipe("AlexNet", BUDGETS["cpu"])
    assert cpu == CPU_RECIPES["AlexNet"]
    assert cpu.epochs(1_600) * 25 == cpu.steps  # steps set the run: 25 batches of 64 an epoch
    assert cpu.epochs(60_000) == round(cpu.steps / 938)  # with the full data, fewer epochs
    text = cpu.describe(1_600)
    for part in ("80 epochs x 1,600 images = 2,000 SGD steps", "(d2l: 10 x 60,000 = 4,690)",
                 "width 0.25 (d2l: 1)", "65 px images (d2l: 224)", "batch 64 (d2l: 128)",
                 "lr 0.03 (d2l: 0.01)"):  # fmt: skip
        assert part in text
    assert recipe("ResNet-18", BUDGETS["cpu"]).describe(1_600).count("d2l") == 2


def test_smoke_recipe_shrinks_images_but_never_below_what_the_model_takes():
    assert recipe("AlexNet", BUDGETS["smoke"]).image_size == 65
    assert recipe("ResNet-18", BUDGETS["smoke"]).image_size == 32
    with pytest.raises(KeyError, match="no model 'ResNet'"):
        recipe("ResNet", BUDGETS["cpu"])


@pytest.mark.parametrize("name", list(D2L_ZOO))
def test_a_recipe_builds_its_network_at_its_rate_and_width(name):
    run = recipe(name, BUDGETS["cpu"])
    with torch.device("meta"):
        model = run.build()
    assert model.lr == run.lr and getattr(model, "width", 1.0) == run.width
    if not hasattr(model, "width"):
        with pytest.raises(ValueError, match="has no width to narrow"):
            run._replace(width=0.5).build()
