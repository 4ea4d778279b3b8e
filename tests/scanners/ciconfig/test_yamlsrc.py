"""The located, bounded YAML loader: positions kept, hostile files refused with a place."""

from __future__ import annotations

import pytest

from bastion.scanners.ciconfig.yamlsrc import (
    YamlLimits,
    YamlProblem,
    YMap,
    YScalar,
    load_document,
)


def test_positions_of_keys_values_and_substrings() -> None:
    doc = load_document("jobs:\n  a:\n    run: |\n      echo hi\n      echo ${{ x }}\n", "w.yml")
    jobs = doc.root.map("jobs")
    assert jobs is not None
    assert jobs.keys["a"].line == 2
    job = jobs.map("a")
    assert job is not None
    run = job.scalar("run")
    assert isinstance(run, YScalar)
    assert doc.position(run, "${{ x }}") == (5, 12)


def test_tabs_are_a_problem_with_a_line() -> None:
    with pytest.raises(YamlProblem, match="tab") as caught:
        load_document("on: push\njobs:\n\ta: 1\n", "w.yml")
    assert caught.value.line == 3


def test_duplicate_keys_name_both_lines() -> None:
    with pytest.raises(YamlProblem, match="duplicate key 'run' \\(first at line 2\\)") as caught:
        load_document("s:\n  run: a\n  run: b\n", "w.yml")
    assert (caught.value.line, caught.value.column) == (3, 3)


def test_alias_bomb_stops_at_the_node_limit() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        name = chr(ord("a") + i)
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 10)}]")
    with pytest.raises(YamlProblem, match="alias bomb"):
        load_document("\n".join(lines) + "\n", "bomb.yml")


def test_size_depth_and_encoding_limits() -> None:
    with pytest.raises(YamlProblem, match="over the 10 limit"):
        load_document("a: 0123456789\n", "big.yml", YamlLimits(max_bytes=10))
    with pytest.raises(YamlProblem, match="nesting deeper"):
        load_document("a: " + "[" * 10 + "]" * 10 + "\n", "deep.yml", YamlLimits(max_depth=5))
    with pytest.raises(YamlProblem, match="not UTF-8") as caught:
        load_document(b"a: 1\nb: \xff\n", "bin.yml")
    assert caught.value.line == 2


def test_top_level_must_be_a_mapping_and_empty_is_empty() -> None:
    with pytest.raises(YamlProblem, match="top level"):
        load_document("- a\n", "list.yml")
    assert load_document("", "empty.yml").root.entries == {}


def test_merge_keys_fill_missing_keys_only() -> None:
    doc = load_document(".d: &d {image: a, stage: t}\njob:\n  <<: *d\n  image: b\n", "g.yml")
    job = doc.root.map("job")
    assert isinstance(job, YMap)
    assert (job.text("image"), job.text("stage")) == ("b", "t")


def test_unclosed_quote_is_a_problem_not_a_traceback() -> None:
    with pytest.raises(YamlProblem, match="invalid YAML") as caught:
        load_document('a: "open\nb: 1\n', "q.yml")
    assert caught.value.line >= 1
