import pytest

from convbook.budget import BUDGETS, current_budget


def test_budget_comes_from_environment(monkeypatch):
    monkeypatch.setenv("CONVBOOK_BUDGET", "Smoke ")
    assert current_budget().name == "smoke"


def test_default_budget_is_cpu_without_accelerator_and_full_with_one(monkeypatch):
    monkeypatch.delenv("CONVBOOK_BUDGET")
    monkeypatch.setattr("convbook.budget.num_gpus", lambda: 0)
    assert current_budget().name == "cpu"
    monkeypatch.setattr("convbook.budget.num_gpus", lambda: 1)
    assert current_budget().name == "full"


def test_unknown_budget_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("CONVBOOK_BUDGET", "huge")
    with pytest.raises(ValueError, match="'huge' is not one of"):
        current_budget()


def test_full_budget_changes_nothing_and_smoke_caps_everything():
    full, smoke = BUDGETS["full"], BUDGETS["smoke"]
    assert full.epochs(10) == 10 and full.image_size(224) == 224
    assert smoke.epochs(10) == smoke.max_epochs < 10
    assert smoke.image_size(224) == smoke.max_image_size
    assert smoke.image_size(224, minimum=67) == 67  # never below what the model can take
    assert smoke.image_size(28) == 28  # never upscales


def test_cpu_budget_caps_nothing_and_leaves_the_run_to_each_models_recipe():
    cpu = BUDGETS["cpu"]
    assert cpu.epochs(200) == 200 and cpu.image_size(67) == 67
    assert cpu.max_train_batches is None and cpu.max_val_batches is None
    assert "recipe" in cpu.describe() and "smoke" in BUDGETS["smoke"].describe()
