"""Bad scenario, plan and session files never crash and never hang: each gets a clear message
naming the file and the field or line, and what is allowed.

Fuzzing (hypothesis) mutates valid files — deletes fields, swaps in values of the wrong type,
huge numbers, unknown ids, paths that leave the folder, unknown commands — and checks that
reading them either succeeds with a valid value or raises :class:`FileFormatError`.
"""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.errors import FileFormatError
from simulator.plan import load_plan
from simulator.scenario import library_folder, load_scenario
from simulator.session import load_session

SCENARIO = library_folder() / "l4_l5_s1_facets_right_rf.toml"
PLAN = library_folder() / "plans" / "l4_medial_branch_right_rf.toml"

#: Values of every kind a fuzzed field may receive.
WEIRD = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30),
                  st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
                  st.just("../../../etc/passwd"), st.just("medial_branch_L9_left"), st.just("rf_99g_1mm"),
                  st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


def _to_toml(value, prefix="") -> str:
    """A tiny TOML writer for the fuzzed documents (tables, arrays of tables, scalars)."""
    lines, tables = [], []
    for key, item in value.items():
        name = json.dumps(str(key))
        if isinstance(item, dict):
            tables.append((f"{prefix}{name}", item))
        elif isinstance(item, list) and item and all(isinstance(x, dict) for x in item):
            for element in item:
                tables.append((f"[{prefix}{name}]", element))
        else:
            lines.append(f"{name} = {_scalar(item)}")
    text = "\n".join(lines) + "\n"
    for header, table in tables:
        inner = header[1:-1] + "." if header.startswith("[") else header + "."
        text += f"\n[{header}]\n" + _to_toml(table, inner)
    return text


def _scalar(item) -> str:
    if item is None:
        return '"null"'
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, float):
        return {float("inf"): "inf", float("-inf"): "-inf"}.get(item, "nan" if item != item else repr(item))
    if isinstance(item, (int, str)):
        return json.dumps(item) if isinstance(item, str) else str(item)
    if isinstance(item, list):
        return "[" + ", ".join(_scalar(x) for x in item) + "]"
    if isinstance(item, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {_scalar(v)}" for k, v in item.items()) + "}"
    return json.dumps(str(item))


def _paths(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield path + (key,)
            yield from _paths(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield path + (index,)
            yield from _paths(item, path + (index,))


def _mutate(document, data) -> dict:
    document = copy.deepcopy(document)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        paths = list(_paths(document))
        target = data.draw(st.sampled_from(paths))
        parent = document
        for part in target[:-1]:
            parent = parent[part]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[target[-1]]
        else:
            parent[target[-1]] = data.draw(WEIRD)
        if not document:
            break
    return document


@settings(max_examples=120, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_scenarios_are_valid_or_rejected_clearly(tmp_path, data):
    document = _mutate(tomllib.loads(SCENARIO.read_text()), data)
    path = tmp_path / "fuzzed.toml"
    path.write_text(_to_toml(document))
    try:
        load_scenario(path)
    except FileFormatError as error:
        assert str(error).startswith(str(path)), error
        assert "\n" not in str(error) and len(str(error)) < 1000


@pytest.mark.parametrize("change, message", [
    (lambda d: d["procedure"].update(targets=["medial_branch_L9_left"]), "procedure.targets: unknown target 'medial_branch_L9_left'"),
    (lambda d: d["procedure"].update(devices=["rf_99g_1mm"]), "procedure: unknown device 'rf_99g_1mm'"),
    (lambda d: d["procedure"].update(devices=["cryo_14g_100mm"]), "cryo_14g_100mm is a cryoprobe"),
    (lambda d: d["procedure"].pop("modality"), "procedure.modality: Field required"),
    (lambda d: d["limits"].update(dose_budget_mgy=1e30), "limits.dose_budget_mgy: Input should be less than or equal to 2000"),
    (lambda d: d["meta"].update(difficulty=3), "meta.difficulty: Input should be 'beginner', 'intermediate' or 'advanced' (got 3)"),
    (lambda d: d["meta"].update(colour="red"), "meta.colour: unknown field"),
    (lambda d: d.update(patient={"folder": "../../etc"}), "patient.folder: '../../etc' leaves the scenario's folder"),
    (lambda d: d.update(patient={"fat_thickness_mm": 200.0}), "fat_thickness_mm = 200.0 is outside 5 to 80 mm"),
    (lambda d: d["procedure"]["allowed"].update(colour={"min": 1, "max": 2}), "'colour' is not a rf setting a scenario can limit"),
    (lambda d: d["carm"].update(isocenter_landmark="navel"), "carm.isocenter_landmark: unknown landmark 'navel'"),
    (lambda d: d.update(scoring={"criteria": [{"id": "style", "weight": 5}]}), "unknown criterion 'style'"),
])
def test_each_scenario_mistake_is_named(tmp_path, change, message):
    document = tomllib.loads(SCENARIO.read_text())
    change(document)
    path = tmp_path / "bad.toml"
    path.write_text(_to_toml(document))
    with pytest.raises(FileFormatError) as info:
        load_scenario(path)
    assert message in str(info.value) and str(info.value).startswith(str(path))


def test_broken_and_huge_scenario_files(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text('schema_version = 1\n[meta\nid = "x"\n')
    with pytest.raises(FileFormatError, match=r"broken.toml: is not valid TOML.*line 2"):
        load_scenario(broken)
    huge = tmp_path / "huge.toml"
    huge.write_bytes(b"# " + b"x" * 2_000_000)
    with pytest.raises(FileFormatError, match="too big"):
        load_scenario(huge)
    nested = tmp_path / "nested.toml"
    nested.write_text("x = " + "[" * 5000 + "]" * 5000)
    with pytest.raises(FileFormatError):
        load_scenario(nested)
    with pytest.raises(FileFormatError, match="no such scenario file"):
        load_scenario(tmp_path / "missing.toml")


@pytest.mark.parametrize("change, message", [
    ('scenario = "l4_medial_branch_rihgt_rf"', "no scenario with id 'l4_medial_branch_rihgt_rf'"),
    ('scenario = "../../outside.toml"', "leaves the plan's folder"),
    ("seed = -1", "seed -1 is not allowed"),
    ("schema_version = 7", "schema_version 7 is not supported"),
])
def test_bad_plans_are_named(tmp_path, change, message):
    key = change.split(" = ")[0]
    lines = [line for line in PLAN.read_text().splitlines() if not line.startswith(f"{key} =")]
    path = tmp_path / "plan.toml"
    path.write_text(change + "\n" + "\n".join(lines))
    with pytest.raises(FileFormatError, match=message):
        load_plan(path)


def test_a_plan_action_that_cannot_be_done_stops_the_run_naming_it(tmp_path):
    from simulator.plan import run_plan

    path = tmp_path / "plan.toml"
    path.write_text('schema_version = 1\nscenario = "l4_medial_branch_right_rf"\n[[action]]\ndo = "tick"\n'
                    'step = "prone_positioning"\n[[action]]\ndo = "advance"\nneedle = "needle 7"\ndistance_mm = 2.0\n')
    with pytest.raises(FileFormatError, match=r"action\[1\] \(advance\): .*'needle' = 'needle 7'.*no needle is in the patient"):
        run_plan(load_plan(path), tmp_path / "s.jsonl")
    assert len(load_session(tmp_path / "s.jsonl").records) == 1  # what ran before stays recorded


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    from simulator.plan import run_plan

    path = tmp_path_factory.mktemp("recorded") / "s.jsonl"
    run_plan(load_plan(PLAN), path)
    return path


@settings(max_examples=80, deadline=3000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_sessions_load_or_are_rejected_naming_the_line(recorded, tmp_path, data):
    lines = recorded.read_text().splitlines()
    number = data.draw(st.integers(min_value=1, max_value=len(lines) - 1))  # a record, not the header
    record = _mutate(json.loads(lines[number]), data)
    lines[number] = json.dumps(record)
    path = tmp_path / "fuzzed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    try:
        load_session(path)
    except FileFormatError as error:
        assert str(error).startswith(str(path)) and "line" in str(error), error


def test_unknown_commands_and_facts_in_a_session_are_named(recorded, tmp_path):
    lines = recorded.read_text().splitlines()
    record = json.loads(lines[3])
    record["command"] = {"do": "teleport", "to": "L4"}
    path = tmp_path / "s.jsonl"
    path.write_text("\n".join(lines[:3] + [json.dumps(record)] + lines[4:]) + "\n")
    with pytest.raises(FileFormatError, match=r"line 4: its command does not validate: do = 'teleport'.*tick, note"):
        load_session(path)
    header = json.loads(lines[0])
    header["scenario_text"] = header["scenario_text"].replace('modality = "rf"', 'modality = "laser"')
    path.write_text("\n".join([json.dumps(header)] + lines[1:]) + "\n")
    with pytest.raises(FileFormatError, match="line 1: its scenario does not validate.*procedure.modality"):
        load_session(path)


def test_the_fuzzer_writes_valid_toml(tmp_path):
    """The fuzz tests mean something only if an unmutated document survives the writer."""
    document = tomllib.loads(SCENARIO.read_text())
    path = tmp_path / "same.toml"
    path.write_text(_to_toml(document))
    assert tomllib.loads(path.read_text()) == document
    assert load_scenario(path).meta.id == load_scenario(SCENARIO).meta.id
