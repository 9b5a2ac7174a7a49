"""Patient parameters reject values outside their ranges, naming the field and the range."""

from __future__ import annotations

import math

import pytest

from simulator.anatomy.parameters import PatientParameters
from simulator.errors import ParameterError


def test_fat_thickness_out_of_range_names_the_field_and_the_range():
    with pytest.raises(ParameterError) as caught:
        PatientParameters(fat_thickness_mm=200)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.name == "fat_thickness_mm" and error.value == 200
    assert "fat_thickness_mm" in str(error) and "5 to 80 mm" in str(error)


@pytest.mark.parametrize("field,value,allowed", [
    ("size_scale", 2.0, "0.85 to 1.2"),
    ("lordosis_deg", 100.0, "10 to 70 deg"),
    ("fat_thickness_mm", 4.9, "5 to 80 mm"),
    ("scoliosis_cobb_deg", -60.0, "-45 to 45 deg"),
    ("scoliosis_rotation_deg", -1.0, "0 to 30 deg"),
    ("fat_thickness_mm", math.nan, "5 to 80 mm"),
    ("fat_thickness_mm", "thick", "5 to 80 mm"),
])
def test_every_parameter_is_range_checked(field, value, allowed):
    with pytest.raises(ParameterError) as caught:
        PatientParameters(**{field: value})
    assert caught.value.name == field
    assert field in str(caught.value) and allowed in str(caught.value)


def test_from_dict_rejects_an_unknown_key_and_names_the_source():
    with pytest.raises(ParameterError) as caught:
        PatientParameters.from_dict({"fat_mm": 20}, source="scenario.toml")
    assert "fat_mm" in str(caught.value) and "scenario.toml" in str(caught.value)
    assert "fat_thickness_mm" in str(caught.value)  # the known names are listed


def test_range_limits_are_allowed():
    parameters = PatientParameters(fat_thickness_mm=5, size_scale=1.2, scoliosis_cobb_deg=-45)
    assert parameters.fat_thickness_mm == 5.0 and parameters.replace(fat_thickness_mm=80).fat_thickness_mm == 80.0
