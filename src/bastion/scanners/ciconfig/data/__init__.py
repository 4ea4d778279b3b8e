"""Bundled data of the ``ciconfig`` gate (the dated list of compromised actions)."""
