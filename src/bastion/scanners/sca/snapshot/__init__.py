"""The bundled OSV snapshot: a small dated sample of real advisory records per ecosystem.

``<Ecosystem>.json`` files hold records copied unchanged (YAML written as JSON) from public
advisory databases, ``contents.json`` says what each holds and which parsed ecosystems have
none, and ``LICENSE-OSV-SNAPSHOT.txt`` gives sources and licences. All are written by
``scripts/osv_snapshot.py``; read by :mod:`bastion.scanners.sca.bundled`, only when no
database has been imported or updated, and the gate says so in its notes.
"""

__all__: list[str] = []
