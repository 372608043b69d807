"""The simulator's parameters file (deepgram_scaling.simulator.params.load_params): what a
JSON or TOML file sets, and each value of the wrong kind it refuses with the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepgram_scaling.simulator.params import InstanceType, ParamsError, Shortage, load_params


def _file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_toml_file_sets_the_default_type_and_shortages(tmp_path):
    # Given a TOML file with a default instance type and a shortage window
    path = _file(tmp_path, "p.toml", """
default_type = {capacity = 4, price_per_hour = 2.0}
[[shortages]]
instance_type = "ml.g6.2xlarge"
start_s = 0
end_s = 3600
""")
    # When loaded
    params = load_params(path)
    # Then an unknown type gets the file's default type, and the shortage is kept
    assert params.instance("ml.unknown.xlarge") == InstanceType(capacity=4, price_per_hour=2.0)
    assert params.shortages == (Shortage(instance_type="ml.g6.2xlarge", start_s=0, end_s=3600),)


@pytest.mark.parametrize(("name", "text", "message"), [
    ("p.json", "[1, 2]", r"p\.json must be a table/object, got \[1, 2\]"),
    ("p.json", '{"step_s": ', r"p\.json: Expecting value"),
    ("p.toml", "step_s = ", r"p\.toml: Invalid value"),
    ("p.json", '{"removal_s": -5}', r"p\.json\.removal_s must be a number >= 0, got -5"),
    ("p.json", '{"removal_s": true}', r"p\.json\.removal_s must be a number >= 0, got True"),
    ("p.json", '{"scale_in_margin": 1}', r"p\.json\.scale_in_margin must be in \[0, 1\), got 1"),
    ("p.json", '{"shortages": [{"instance_type": 6, "start_s": 0, "end_s": 1}]}',
     r"p\.json\.shortages\[0\]\.instance_type must be a string, got 6"),
    ("p.json", '{"default_type": 4}', r"p\.json\.default_type must be a table/object, got 4"),
], ids=["not-a-table", "bad-json", "bad-toml", "negative", "boolean", "margin-of-one",
        "shortage-type-not-a-string", "default-type-not-a-table"])
def test_a_value_of_the_wrong_kind_is_refused_with_its_file_and_key(tmp_path, name, text,
                                                                    message):
    # Given a parameters file with one value the simulator cannot use
    path = _file(tmp_path, name, text)
    # When loaded, then it is refused, naming the file, the key and the value
    with pytest.raises(ParamsError, match=message):
        load_params(path)
