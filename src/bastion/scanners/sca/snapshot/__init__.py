"""The bundled OSV snapshot: real PyPA advisories for the packages the examples pin.

``osv-snapshot.json`` holds records copied unchanged from the PyPA Advisory Database
(snapshot of 2024-10-10), licensed CC-BY-4.0; ``LICENSE-OSV-SNAPSHOT.txt`` gives the
attribution. It is used only when no database has been imported or updated, and the gate says
so in its notes.
"""

__all__: list[str] = []
