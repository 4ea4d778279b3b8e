"""Every manifest parser on real-shaped files: packages, lines, relations and malformed input."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bastion.scanners.sca.errors import ManifestError
from bastion.scanners.sca.model import Dependency, Relation
from bastion.scanners.sca.parsers import discover, parse_manifest
from bastion.scanners.sca.parsers.golang import parse_go_sum
from bastion.scanners.sca.parsers.installed import parse_installed
from bastion.scanners.sca.parsers.pnpm import split_pnpm_key
from bastion.scanners.sca.parsers.pyproject import poetry_constraint

from .sca_data import MANIFESTS

D, T, U = Relation.DIRECT, Relation.TRANSITIVE, Relation.UNKNOWN

EXPECTED: dict[str, list[tuple[str, str, str | None, int | None, Relation]]] = {
    "requirements": [
        ("requirements/requirements-base.txt", "werkzeug", "2.3.7", 1, D),
        ("requirements/requirements-base.txt", "accesscontrol", "4.2", 2, D),
        ("requirements/requirements.txt", "requests", "2.19.1", 5, D),
        ("requirements/requirements.txt", "py", "1.11.0", 8, D),
        ("requirements/requirements.txt", "urllib3", None, 9, D),
        ("requirements/requirements.txt", "./vendored/wheel-1.0-py3-none-any.whl", None, 11, D),
    ],
    "pyproject": [
        ("pyproject/pyproject.toml", "requests", None, 5, D),
        ("pyproject/pyproject.toml", "werkzeug", "2.3.7", 6, D),
        ("pyproject/pyproject.toml", "py", "1.11.0", 10, D),
        ("pyproject/pyproject.toml", "accesscontrol", None, 14, D),
    ],
    "poetry": [
        ("poetry/poetry.lock", "certifi", "2024.8.30", 3, T),
        ("poetry/poetry.lock", "requests", "2.19.1", 13, D),
    ],
    "uv": [
        ("uv/uv.lock", "markupsafe", "2.1.5", 12, T),
        ("uv/uv.lock", "werkzeug", "2.3.7", 18, D),
    ],
    "pipenv": [
        ("pipenv/Pipfile.lock", "idna", "2.7", 17, T),
        ("pipenv/Pipfile.lock", "requests", "2.19.1", 21, D),
        ("pipenv/Pipfile.lock", "demo-tool", None, 30, T),
    ],
    "pdm": [("pdm/pdm.lock", "py", "1.11.0", 10, U)],
    "npm-v1": [
        ("npm-v1/package-lock.json", "lodash", "4.17.11", 7, D),
        ("npm-v1/package-lock.json", "minimist", "0.0.8", 12, T),
        ("npm-v1/package-lock.json", "mkdirp", "0.5.1", 18, T),
    ],
    "npm-v3": [
        ("npm-v3/package-lock.json", "@babel/core", "7.22.5", 18, D),
        ("npm-v3/package-lock.json", "semver", "6.3.0", 26, T),
        ("npm-v3/package-lock.json", "lodash", "4.17.20", 31, D),
        ("npm-v3/package-lock.json", "semver", "5.7.1", 36, D),
    ],
    "yarn-classic": [
        ("yarn-classic/yarn.lock", "@babel/code-frame", "7.22.5", 5, D),
        ("yarn-classic/yarn.lock", "@babel/highlight", "7.22.5", 12, T),
        ("yarn-classic/yarn.lock", "lodash", "4.17.11", 16, D),
    ],
    "yarn-berry": [("yarn-berry/yarn.lock", "lodash", "4.17.20", 16, U)],
    "pnpm-v6": [
        ("pnpm-v6/pnpm-lock.yaml", "lodash", "4.17.20", 14, D),
        ("pnpm-v6/pnpm-lock.yaml", "@types/react", "18.2.14", 18, T),
        ("pnpm-v6/pnpm-lock.yaml", "react-dom", "18.2.0", 22, T),
    ],
    "pnpm-v9": [
        ("pnpm-v9/pnpm-lock.yaml", "minimist", "1.2.0", 17, D),
        ("pnpm-v9/pnpm-lock.yaml", "@scope/pkg", "2.0.0-beta.1", 20, T),
    ],
    "go": [
        ("go/go.mod", "stdlib", "1.21.0", 3, D),
        ("go/go.mod", "github.com/gin-gonic/gin", "v1.5.0", 6, D),
        ("go/go.mod", "github.com/gorilla/sessions", "v1.1.3", 7, T),
        ("go/go.mod", "github.com/rancher/rancher", "v2.2.4+incompatible", 8, D),
        ("go/go.mod", "golang.org/x/text", "v0.3.7", 11, T),
        ("go/go.sum", "github.com/json-iterator/go", "v1.1.7", 3, T),
    ],
    "cargo": [
        ("cargo/Cargo.lock", "dirs", "5.0.1", 12, T),
        ("cargo/Cargo.lock", "wasmtime", "0.29.0", 18, D),
    ],
    "ruby": [
        ("ruby/Gemfile.lock", "internal-gem", None, 5, D),
        ("ruby/Gemfile.lock", "actionpack", "5.2.0", 10, D),
        ("ruby/Gemfile.lock", "nokogiri", "1.13.10", 12, D),
        ("ruby/Gemfile.lock", "racc", "1.6.2", 14, T),
        ("ruby/Gemfile.lock", "rack", "2.0.4", 15, T),
    ],
    "composer": [
        ("composer/composer.lock", "guzzlehttp/guzzle", "6.3.0", 8, D),
        ("composer/composer.lock", "guzzlehttp/psr7", "1.4.2", 18, T),
        ("composer/composer.lock", "acme/tools", None, 25, T),
    ],
}


def _rows(
    deps: list[Dependency], folder: str
) -> list[tuple[str, str, str | None, int | None, Relation]]:
    return [(f"{folder}/{d.path}", d.name, d.version, d.line, d.relation) for d in deps]


@pytest.mark.parametrize("folder", sorted(EXPECTED))
def test_real_shaped_manifests(folder: str) -> None:
    found = discover(MANIFESTS / folder)
    assert _rows(found.dependencies, folder) == EXPECTED[folder]


def test_unpinned_and_unjudgeable_entries_say_why() -> None:
    deps = {d.name: d for d in discover(MANIFESTS / "requirements").dependencies}
    assert deps["urllib3"].specifier == "<1.25,>=1.21.1"
    assert not deps["urllib3"].pinned
    assert (
        deps["./vendored/wheel-1.0-py3-none-any.whl"].specifier
        == "@ ./vendored/wheel-1.0-py3-none-any.whl"
    )
    gems = {d.name: d for d in discover(MANIFESTS / "ruby").dependencies}
    assert gems["internal-gem"].specifier == "@ git or path source"
    assert {d.name: d.ecosystem for d in discover(MANIFESTS / "cargo").dependencies} == {
        "dirs": "crates.io",
        "wasmtime": "crates.io",
    }


MALFORMED = [
    ("requirements.txt", 2, "not a valid requirement"),
    ("package-lock.json", 4, "malformed JSON"),
    ("poetry.lock", 3, "malformed TOML"),
    ("go.mod", 4, "cannot read require"),
    ("Gemfile.lock", 4, "cannot read gem spec"),
    ("yarn.lock", 3, "block header"),
    ("pnpm-lock.yaml", 4, "malformed YAML"),
    ("Cargo.lock", 1, "lacks 'name' or 'version'"),
    ("composer.lock", 1, "has no version"),
]


@pytest.mark.parametrize(("name", "line", "message"), MALFORMED)
def test_malformed_files_name_file_and_line(name: str, line: int, message: str) -> None:
    with pytest.raises(ManifestError, match=message) as caught:
        parse_manifest(MANIFESTS / "malformed" / name, MANIFESTS)
    assert caught.value.location() == f"malformed/{name}:{line}"
    assert caught.value.diagnostics().startswith(f"malformed/{name}:{line}: ")


def test_malformed_go_sum(tmp_path: Path) -> None:
    (tmp_path / "go.sum").write_text("github.com/a/b v1.0.0 h1:x=\ngithub.com/a/b v1.0.0\n")
    with pytest.raises(ManifestError, match="module version h1:hash") as caught:
        parse_go_sum(tmp_path / "go.sum", "go.sum", frozenset())
    assert caught.value.line == 2
    (tmp_path / "go.sum").write_text("github.com/a/b 1.0.0 h1:x=\n")
    with pytest.raises(ManifestError, match="not a Go module version"):
        parse_go_sum(tmp_path / "go.sum", "go.sum", frozenset())


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("requirements.txt", "-r ../../outside.txt\n", "outside the repository"),
        ("requirements.txt", "-r missing.txt\n", "does not exist"),
        ("requirements.txt", "-r requirements.txt\n", "cycle"),
        ("package-lock.json", '{"lockfileVersion": 7}', "unsupported lockfileVersion"),
        ("package-lock.json", "[]", "expected a JSON object"),
        (
            "package-lock.json",
            '{"lockfileVersion": 2, "packages": {"node_modules/a": {}}}',
            "has no version",
        ),
        ("go.mod", "module x\n\nrequire (\n\tgithub.com/a/b v1.0.0\n", "never closed"),
        ("go.mod", "module x\ngo banana\n", "go directive"),
        ("go.mod", "module x\nrequire github.com/a/b v1.0\n", "not a Go module version"),
        ("Gemfile.lock", "PLATFORMS\n  ruby\n", "not a Gemfile.lock"),
        ("Pipfile.lock", '{"default": []}', "expected an object"),
        ("pyproject.toml", '[project]\ndependencies = ["requests >>> 2"]\n', "not a valid PEP 508"),
        (
            "pyproject.toml",
            '[tool.poetry.dependencies]\nrequests = "^^1"\n',
            "not a valid Poetry constraint",
        ),
        ("yarn.lock", "lodash@^4:\n  resolved foo\n", "has no version"),
        (
            "pnpm-lock.yaml",
            "lockfileVersion: '9.0'\npackages:\n  not-a-key: {}\n",
            "cannot read package key",
        ),
        ("pnpm-lock.yaml", "- a list\n", "expected a mapping"),
        ("composer.lock", '{"packages": {}}', "'packages' list"),
        ("uv.lock", "version = 1\n[[package]]\nname = 1\nversion = '1'\n", "lacks a string"),
        ("requirements.txt", "\xff", None),
    ],
)
def test_more_malformed_inputs(tmp_path: Path, name: str, text: str, message: str | None) -> None:
    root = tmp_path / "repo"
    (root / "app").mkdir(parents=True)
    path = root / "app" / name
    if message is None:
        path.write_bytes(b"\xff\xfe broken")
        message = "not UTF-8"
    else:
        path.write_text(text)
    with pytest.raises(ManifestError, match=message):
        parse_manifest(path, root)


def test_unknown_file_name_is_refused(tmp_path: Path) -> None:
    (tmp_path / "setup.py").write_text("")
    with pytest.raises(ValueError, match="not a manifest"):
        parse_manifest(tmp_path / "setup.py", tmp_path)


def test_pyproject_is_ignored_beside_a_lock(tmp_path: Path) -> None:
    shutil.copytree(MANIFESTS / "poetry", tmp_path / "p")
    assert discover(tmp_path).manifests == ["p/poetry.lock"]


def test_discovery_skips_vendored_trees_and_excluded_paths(tmp_path: Path) -> None:
    for folder in ("node_modules/x", ".venv", "app", "tests/data"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "requirements.txt").write_text("py==1.11.0\n")
    assert discover(tmp_path, exclude=("tests/data",)).manifests == ["app/requirements.txt"]
    assert discover(tmp_path, exclude=("app/*.txt",)).manifests == ["tests/data/requirements.txt"]


def test_installed_environment(tmp_path: Path) -> None:
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    for name, version in (("Requests", "2.19.1"), ("PyYAML", "5.3")):
        info = site / f"{name}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    deps = parse_installed(tmp_path / "venv", "venv")
    assert [(d.name, d.version, d.relation) for d in deps] == [
        ("pyyaml", "5.3", U),
        ("requests", "2.19.1", U),
    ]
    assert parse_installed(site, "site") == [
        Dependency("PyPI", d.name, "site", None, U, version=d.version) for d in deps
    ]
    found = discover(tmp_path / "venv", installed=site)
    assert found.manifests == ["lib/python3.11/site-packages"]
    with pytest.raises(ManifestError, match="not a virtual environment"):
        parse_installed(tmp_path, "x")


@pytest.mark.parametrize(
    ("constraint", "pep440"),
    [
        ("^1.2.3", ">=1.2.3,<2"),
        ("^0.2.3", ">=0.2.3,<0.3"),
        ("^0.0.3", ">=0.0.3,<0.0.4"),
        ("~1.2.3", ">=1.2.3,<1.3"),
        ("~1", ">=1,<2"),
        ("1.2.3", "==1.2.3"),
        (">=1.0,<2.0", ">=1.0,<2.0"),
        ("*", ""),
    ],
)
def test_poetry_constraints(constraint: str, pep440: str) -> None:
    assert poetry_constraint(constraint) == pep440


@pytest.mark.parametrize(
    ("key", "parsed"),
    [
        ("/lodash/4.17.20", ("lodash", "4.17.20")),
        ("/@babel/core/7.22.5", ("@babel/core", "7.22.5")),
        ("/react-dom@18.2.0(react@18.2.0)", ("react-dom", "18.2.0")),
        ("/react-dom/18.2.0_react@18.2.0", ("react-dom", "18.2.0")),
        ("@scope/pkg@2.0.0", ("@scope/pkg", "2.0.0")),
        ("not-a-key", None),
    ],
)
def test_pnpm_keys(key: str, parsed: tuple[str, str] | None) -> None:
    assert split_pnpm_key(key) == parsed


_names = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,8}(?:[-_.][A-Za-z0-9]{1,5})?", fullmatch=True)
_versions = st.lists(st.integers(0, 30).map(str), min_size=1, max_size=4).map(".".join)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(_names, _versions), min_size=1, max_size=8, unique_by=lambda t: t[0].lower())
)
def test_requirements_round_trip(entries: list[tuple[str, str]]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        lines = [f"{name}=={version}  # pinned" for name, version in entries]
        (root / "requirements.txt").write_text("\n".join(lines) + "\n")
        deps = discover(root).dependencies
    assert [(d.version, d.line) for d in deps] == [
        (v, i) for i, (_, v) in enumerate(entries, start=1)
    ]
    assert len({d.name for d in deps}) == len(entries)
