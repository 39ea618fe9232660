"""convbook.extras: a missing optional package is named with the extra that installs it."""

import sys
from pathlib import Path

import pytest
import tomllib

from convbook.extras import EXTRAS, MissingExtraError, require


def test_require_returns_the_module_when_it_is_installed():
    assert require("nbformat", "reading notebooks") is sys.modules["nbformat"]


def test_missing_package_names_the_package_and_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "skimage", None)  # import skimage now fails
    with pytest.raises(MissingExtraError) as caught:
        require("skimage.data", "the photographs of sections 7.2-7.5")
    message = str(caught.value)
    assert "the photographs of sections 7.2-7.5" in message
    assert "'scikit-image'" in message
    assert 'pip install "convbook[book]"' in message
    assert isinstance(caught.value, ModuleNotFoundError)  # still caught by old handlers


def test_every_extra_named_here_is_declared_in_pyproject():
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]
    for package, extra in EXTRAS.values():
        names = [
            requirement.split(">")[0].split("<")[0].split("=")[0] for requirement in declared[extra]
        ]
        assert package in names, f"{package} is not in the {extra!r} extra of pyproject.toml"


def test_module_outside_any_extra_is_a_programming_error():
    with pytest.raises(KeyError):
        require("requests", "anything")
