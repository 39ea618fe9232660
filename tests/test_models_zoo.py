import pytest
import torch

from convbook.models.zoo import D2L_ZOO


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
