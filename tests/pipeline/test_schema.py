"""The schema accepts what the docs promise and publishes a JSON Schema."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from bastion.pipeline import (
    matches_trigger,
    parse_duration,
    parse_pipeline,
    parse_size,
    pipeline_json_schema,
    plan_pipeline,
)

FULL = """
name: demo
on:
  push: {branches: [main, "release/*"], tags: ["v*"]}
  pull_request: {branches: [main]}
env: {GLOBAL: 1}
jobs:
  secrets: {uses: bastion/secrets}
  sast:
    uses: bastion/sast
    with: {severity: high}
  test:
    needs: [secrets, sast]
    env: {DEBUG: false}
    timeout: 10m
    working-directory: app
    network: [pypi.org, "*.pythonhosted.org", "example.com:8443", 10.0.0.0/8, "[::1]:8080"]
    limits: {memory: 512M, processes: 64, time: 90s, open-files: 1024}
    tools: [/opt/tool]
    secrets: [PYPI_TOKEN]
    environment: staging
    steps:
      - name: unit
        run: python -m pytest
        env: {X: y}
    artifacts: "dist/*"
"""


def test_full_pipeline_is_accepted() -> None:
    loaded = parse_pipeline(FULL, source="p.yml")
    pipeline = loaded.pipeline
    test = pipeline.jobs["test"]
    assert test.limits.memory == 512 * 1024**2
    assert test.step_timeout == 90.0
    assert test.timeout == 600.0
    assert test.env == {"DEBUG": "false"}
    assert pipeline.env == {"GLOBAL": "1"}
    assert test.artifacts == ["dist/*"]
    assert pipeline.jobs["sast"].gate == "sast"
    assert pipeline.jobs["sast"].with_ == {"severity": "high"}
    assert loaded.digest.startswith("sha256:")
    assert plan_pipeline(pipeline).order == ("secrets", "sast", "test")


def test_on_shorthand_and_triggers() -> None:
    pipeline = parse_pipeline(FULL, source="p.yml").pipeline
    assert matches_trigger(pipeline.on, event="push", ref="refs/heads/release/1.2")
    assert not matches_trigger(pipeline.on, event="push", ref="refs/heads/feature")
    assert matches_trigger(pipeline.on, event="push", ref="refs/tags/v1.0")
    assert not matches_trigger(pipeline.on, event="push", ref="refs/tags/nightly")
    assert matches_trigger(pipeline.on, event="pull_request", ref="main")
    short = parse_pipeline("on: [push]\njobs: {a: {steps: [{run: x}]}}", source="p").pipeline
    assert short.on.push is not None
    assert short.on.pull_request is None
    assert not matches_trigger(short.on, event="pull_request", ref="main")


def test_json_schema_is_published_by_alias() -> None:
    schema = pipeline_json_schema()
    text = json.dumps(schema)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "working-directory" in text
    assert '"with"' in text
    assert schema["additionalProperties"] is False


@given(st.integers(min_value=1, max_value=10**6))
def test_duration_forms_agree(seconds: int) -> None:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    text += f"{secs}s" if secs or not text else ""
    assert parse_duration(text) == parse_duration(seconds) == float(seconds)


@given(st.integers(min_value=1, max_value=2**40))
def test_size_forms_agree(size: int) -> None:
    assert parse_size(size) == size
    assert parse_size(f"{size}") == size
    assert parse_size(f"{size}K") == size * 1024
