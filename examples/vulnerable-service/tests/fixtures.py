"""Test fixtures. Scanners must look here too: test helpers run on CI machines."""

import subprocess


def reset_database(path):
    # Test helpers run on CI machines that hold secrets: injection here matters too.
    # planted: command injection in a test helper
    subprocess.call("sqlite3 " + path + " < schema.sql", shell=True)
