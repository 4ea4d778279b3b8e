"""A job's ``matrix:``: its variables, their values and the combinations they expand to.

    matrix:
      python: ["3.11", "3.12"]
      os: [debian]
      exclude: [{python: "3.11"}]          # drop every combination that matches all keys
      include: [{python: "3.13", os: alpine}]  # one more combination, every variable given

:func:`read_matrix` turns the mapping written in the file into a :class:`Matrix` and lists
every problem with where it sits inside the job (``("matrix", "python", 2)``), so the loader
can report each at its file, line and column. Values are scalars, kept as the text the job
sees (``true``/``false`` for booleans, like ``env:``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

from bastion.pipeline.problems import JobProblem, Where

__all__ = [
    "MAX_MATRIX_JOBS",
    "Matrix",
    "expanded_name",
    "read_matrix",
]

MAX_MATRIX_JOBS = 256
"""The most jobs one matrix may expand to (as GitHub Actions): a typo such as a long list
in the wrong place must not quietly queue thousands of sandboxes."""

# Enumerating the cross product before `exclude:` is the work a hostile file could inflate;
# past this many combinations we refuse without enumerating.
_MAX_CROSS_PRODUCT = 16 * MAX_MATRIX_JOBS
_MAX_VALUE_CHARS = 64
# The run database keeps job names in 256 characters; a file name holds 255 bytes.
_MAX_NAME_BYTES = 200
_RESERVED = ("include", "exclude")
VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Control, format (bidi overrides) and line/paragraph separators would let a value rewrite
# what a terminal or a log shows next to a job name.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Zl", "Zp"})


@dataclass(frozen=True, slots=True)
class Matrix:
    """Variables in declared order and each combination's values in that order."""

    variables: tuple[str, ...]
    combinations: tuple[tuple[str, ...], ...]

    def values(self, combination: tuple[str, ...]) -> dict[str, str]:
        """``{variable: value}`` of one combination."""
        return dict(zip(self.variables, combination, strict=True))


def expanded_name(job: str, combination: Sequence[str]) -> str:
    """``test (3.11, debian)``: the job's name, then its values in the variables' order."""
    return f"{job} ({', '.join(combination)})"


def read_matrix(name: str, raw: Mapping[str, list[Any]]) -> tuple[Matrix, list[JobProblem]]:
    """The matrix of job ``name``; the matrix is only meaningful when no problem is listed."""
    problems: list[JobProblem] = []
    values = _read_variables(raw, problems)
    variables = tuple(values)
    if not variables and not problems:
        problems.append(
            JobProblem(
                ("matrix",),
                "`matrix:` declares no variable",
                "give at least one variable and its values, e.g. python: ['3.11', '3.12']",
            )
        )
    exclude = _read_entries(raw, "exclude", values, problems)
    include = _read_entries(raw, "include", values, problems)
    if problems:
        return Matrix(variables, ()), problems
    combinations = _combine(values, exclude, include, problems)
    for combination in combinations:
        if len(expanded_name(name, combination).encode()) > _MAX_NAME_BYTES:
            problems.append(
                JobProblem(
                    ("matrix",),
                    f"expanded job name '{expanded_name(name, combination)[:60]}...' is longer"
                    f" than {_MAX_NAME_BYTES} bytes",
                    "use shorter matrix values (pass long ones through `env:` instead)",
                )
            )
            break
    return Matrix(variables, tuple(combinations)), problems


def _read_variables(
    raw: Mapping[str, list[Any]], problems: list[JobProblem]
) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    env_names: dict[str, str] = {}
    for variable, items in raw.items():
        if variable in _RESERVED:
            continue
        if not VARIABLE.fullmatch(variable):
            problems.append(
                JobProblem(
                    ("matrix", variable),
                    f"'{variable}' is not a matrix variable name",
                    "use letters, digits and '_' (it becomes ${{ matrix.NAME }} and MATRIX_NAME)",
                    key=True,
                )
            )
            continue
        clash = env_names.setdefault(variable.upper(), variable)
        if clash != variable:
            problems.append(
                JobProblem(
                    ("matrix", variable),
                    f"matrix variables '{clash}' and '{variable}' would both set "
                    f"MATRIX_{variable.upper()}",
                    "rename one of them",
                    key=True,
                )
            )
        values[variable] = _read_values(variable, items, problems)
    return values


def _read_values(variable: str, items: list[Any], problems: list[JobProblem]) -> list[str]:
    if not items:
        problems.append(
            JobProblem(
                ("matrix", variable),
                f"matrix variable '{variable}' has no values",
                f"list at least one value, e.g. {variable}: [a, b], or remove the variable",
            )
        )
    texts: list[str] = []
    for index, item in enumerate(items):
        text = _scalar(("matrix", variable, index), item, problems)
        if text is None:
            continue
        if text in texts:
            problems.append(
                JobProblem(
                    ("matrix", variable, index),
                    f"matrix variable '{variable}' lists '{text}' twice",
                    "remove the repeated value; each combination runs once",
                )
            )
        texts.append(text)
    return texts


def _scalar(where: Where, item: Any, problems: list[JobProblem]) -> str | None:
    """The text of a scalar matrix value, or ``None`` with a problem recorded."""
    if isinstance(item, bool):
        text = "true" if item else "false"
    elif isinstance(item, str | int | float):
        text = str(item)
    else:
        kind = "nothing (null)" if item is None else type(item).__name__
        problems.append(
            JobProblem(
                where,
                f"a matrix value must be a string, number or boolean, not {kind}",
                "write one scalar per list item; quote versions such as '3.10'",
            )
        )
        return None
    problem = _text_problem(text)
    if problem is not None:
        problems.append(JobProblem(where, problem, "use short, printable values"))
        return None
    return text


def _text_problem(text: str) -> str | None:
    if not text.strip():
        return "a matrix value is empty"
    if len(text) > _MAX_VALUE_CHARS:
        return f"a matrix value is longer than {_MAX_VALUE_CHARS} characters"
    if "/" in text:
        # Job names become file names (logs, artifact staging); '/' would add a directory.
        return "a matrix value may not contain '/' (job names become file names)"
    if any(unicodedata.category(char) in _UNPRINTABLE for char in text):
        return "a matrix value contains a control or invisible formatting character"
    return None


def _read_entries(
    raw: Mapping[str, list[Any]],
    key: str,
    values: Mapping[str, list[str]],
    problems: list[JobProblem],
) -> list[tuple[int, dict[str, str]]]:
    """``include:`` or ``exclude:`` entries with their index, each a checked mapping."""
    entries: list[tuple[int, dict[str, str]]] = []
    for index, entry in enumerate(raw.get(key, [])):
        where: Where = ("matrix", key, index)
        if not isinstance(entry, dict) or not entry:
            problems.append(
                JobProblem(
                    where,
                    f"each `{key}:` entry is a non-empty mapping of matrix variables to values",
                    f"e.g. {key}: [{{{next(iter(values), 'python')}: '3.11'}}]",
                )
            )
            continue
        checked: dict[str, str] = {}
        for variable, item in entry.items():
            if variable not in values:
                problems.append(_unknown(variable, values, (*where, variable), key=True))
                continue
            text = _scalar((*where, variable), item, problems)
            if text is not None:
                checked[variable] = text
        missing = [variable for variable in values if variable not in entry]
        if key == "include" and missing:
            problems.append(
                JobProblem(
                    where,
                    f"`include:` entry {index} gives no value for {', '.join(missing)}",
                    "an included combination gives a value for every matrix variable",
                )
            )
        entries.append((index, checked))
    return entries


def _unknown(
    variable: str, values: Mapping[str, list[str]], where: Where, *, key: bool = False
) -> JobProblem:
    known = ", ".join(values) or "none"
    return JobProblem(
        where,
        f"'{variable}' is not a variable of this job's matrix",
        f"the matrix variables are: {known}",
        key=key,
    )


def _combine(
    values: Mapping[str, list[str]],
    exclude: list[tuple[int, dict[str, str]]],
    include: list[tuple[int, dict[str, str]]],
    problems: list[JobProblem],
) -> list[tuple[str, ...]]:
    size = math.prod(len(items) for items in values.values())
    if size > _MAX_CROSS_PRODUCT:
        problems.append(_too_many(size))
        return []
    order = list(values)
    kept: list[tuple[str, ...]] = []
    matched: set[int] = set()
    for combination in product(*values.values()):
        hits = {i for i, entry in exclude if _matches(order, combination, entry)}
        matched |= hits
        if not hits:
            kept.append(combination)
    for index, _entry in exclude:
        if index not in matched:
            problems.append(
                JobProblem(
                    ("matrix", "exclude", index),
                    f"`exclude:` entry {index} matches no combination",
                    "check its values against the variables' lists; remove it if not needed",
                )
            )
    for index, entry in include:
        combination = tuple(entry[variable] for variable in order)
        if combination in kept:
            problems.append(
                JobProblem(
                    ("matrix", "include", index),
                    f"`include:` entry {index} repeats a combination the matrix already has",
                    "remove it; each combination runs once",
                )
            )
        kept.append(combination)
    if len(kept) > MAX_MATRIX_JOBS:
        problems.append(_too_many(len(kept)))
    elif not kept:
        problems.append(
            JobProblem(
                ("matrix",),
                "`exclude:` removes every combination of the matrix",
                "remove an `exclude:` entry, or remove the matrix",
            )
        )
    return kept


def _matches(order: list[str], combination: tuple[str, ...], entry: Mapping[str, str]) -> bool:
    return all(combination[order.index(variable)] == value for variable, value in entry.items())


def _too_many(count: int) -> JobProblem:
    return JobProblem(
        ("matrix",),
        f"matrix expands to {count} combinations, more than the limit of {MAX_MATRIX_JOBS} jobs",
        "use fewer values, or drop combinations with `exclude:`",
    )
