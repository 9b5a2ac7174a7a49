"""The examples in the fluoroscopy modules' docstrings run and give what they say."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["carm", "projection", "cylinders", "dose", "image", "volume", "reference", "fluoroscope", "squaring",
           "materials", "raster", "summary"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"simulator.fluoro.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
