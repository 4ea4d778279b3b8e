"""The DAG plan: topological order, downstream sets, the default pipeline."""

from __future__ import annotations

from pathlib import Path

from bastion.pipeline import default_pipeline, detect_project_types, parse_pipeline, plan_pipeline


def test_order_respects_needs_and_file_order() -> None:
    text = (
        "jobs:\n  deploy: {needs: [build], steps: [{run: x}]}\n"
        "  lint: {steps: [{run: x}]}\n  build: {needs: [lint, test], steps: [{run: x}]}\n"
        "  test: {steps: [{run: x}]}\n"
    )
    plan = plan_pipeline(parse_pipeline(text, source="p").pipeline)
    assert plan.order == ("lint", "test", "build", "deploy")
    assert plan.downstream("lint") == {"build", "deploy"}
    assert plan.dependents["build"] == ("deploy",)


def test_default_pipeline_for_python(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n")
    assert detect_project_types(tmp_path) == ["python"]
    loaded = default_pipeline(tmp_path, ["sast", "secrets", "unknown"])
    assert list(loaded.pipeline.jobs) == ["secrets", "sast"]
    assert "python" in (loaded.pipeline.name or "")


def test_default_pipeline_without_gates(tmp_path: Path) -> None:
    assert detect_project_types(tmp_path) == ["generic"]
    loaded = default_pipeline(tmp_path, [])
    assert list(loaded.pipeline.jobs) == ["check"]
