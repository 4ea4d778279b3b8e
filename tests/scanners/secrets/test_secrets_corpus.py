"""The labelled corpus: Bastion finds every planted credential and nothing else."""

from __future__ import annotations

import pytest

from bastion.scanners.secrets.corpus import KINDS, LabelledFile, build_corpus
from bastion.scanners.secrets.engine import Engine
from bastion.scanners.secrets.hits import hits_in_file
from bastion.scanners.secrets.noise import Action


@pytest.fixture(scope="module")
def corpus() -> list[LabelledFile]:
    return build_corpus(seed=19, per_kind=1, negatives_per_kind=3)


def _kept_lines(engine: Engine, item: LabelledFile) -> set[int]:
    hits = hits_in_file(engine, item.text.encode(), item.path)
    return {h.line for h in hits if h.action is not Action.DROP}


def test_corpus_is_broad_and_realistic(corpus: list[LabelledFile]) -> None:
    assert len(KINDS) >= 60
    assert {f.kind for f in corpus if f.kind} == set(KINDS)
    names = {f.path.rsplit("/", 1)[1] for f in corpus}
    assert {".env", "config.yaml", "settings.json", "deploy.sh", "Dockerfile"} <= names
    assert sum(1 for f in corpus if f.kind is None) >= 20


def test_every_planted_secret_is_found_on_its_lines(corpus: list[LabelledFile]) -> None:
    engine = Engine.default()
    missed, stray = [], []
    for item in (f for f in corpus if f.lines is not None):
        assert item.lines is not None
        first, last = item.lines
        lines = _kept_lines(engine, item)
        if not any(first <= n <= last for n in lines):
            missed.append(item.kind)
        stray += [(item.path, n) for n in lines if not first <= n <= last]
    assert missed == []
    assert stray == []


def test_hard_negatives_stay_clean(corpus: list[LabelledFile]) -> None:
    engine = Engine.default()
    noisy = [
        (f.path, sorted(lines))
        for f in corpus
        if f.kind is None
        if (lines := _kept_lines(engine, f))
    ]
    assert noisy == []
