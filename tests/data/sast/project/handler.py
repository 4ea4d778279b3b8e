"""A request handler with three flaws the SAST gate must report."""

import hashlib
import subprocess


def run_report(name: str) -> str:
    subprocess.run("make-report " + name, shell=True, check=True)  # noqa: S602 - CWE-78
    return hashlib.md5(name.encode()).hexdigest()  # noqa: S324 - CWE-327


def evaluate(expression: str) -> object:
    return eval(expression)  # noqa: S307 - CWE-95
