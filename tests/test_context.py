"""Typed context reading for apps (cdk.json and -c)."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

from deepgram_scaling.context import ContextReader, ContextValueError


def _reader(context: dict[str, object]) -> ContextReader:
    return ContextReader(cdk.App(context=context).node, "p:")


def test_context_reader_accepts_cli_strings_and_json():
    reader = _reader({"p:n": "3", "p:f": "0.5", "p:l": "ml.g6.2xlarge, ml.g5.2xlarge",
                      "p:j": '["a"]', "p:b": "false"})
    assert reader.integer("n", 1) == 3
    assert reader.number("f", 1) == 0.5
    assert reader.string_list("l", []) == ["ml.g6.2xlarge", "ml.g5.2xlarge"]
    assert reader.string_list("j", []) == ["a"]
    assert reader.boolean("b", True) is False
    assert reader.integer("missing", 7) == 7


@pytest.mark.parametrize(
    ("context", "call", "message"),
    [
        ({"p:n": "three"}, lambda r: r.integer("n", 1),
         r"context key 'p:n' must be a whole number, got 'three'"),
        ({"p:l": 5}, lambda r: r.string_list("l", []),
         r"context key 'p:l' must be a list of strings, got 5"),
        ({"p:l": "[1, 2"}, lambda r: r.string_list("l", []),
         r"context key 'p:l' must be a list of strings"),
        ({"p:f": "fast"}, lambda r: r.number("f", 1), r"context key 'p:f' must be a number"),
        ({"p:b": "yes"}, lambda r: r.boolean("b", True), r"context key 'p:b' must be true or false"),
    ],
)
def test_context_reader_rejects_malformed_values(context, call, message):
    with pytest.raises(ContextValueError, match=message):
        call(_reader(context))
