"""The image gate: packages, configuration and secrets of a container image, judged.

    >>> from bastion.scanners.image import image_inventory
    >>> inventory = image_inventory(Path("build/layout"), secrets=None)  # doctest: +SKIP
    >>> [(p.ecosystem, p.name, p.version) for p in inventory.packages][:1]  # doctest: +SKIP
    [('Debian:12', 'openssl', '3.0.11-1~deb12u1')]

Images are read by :mod:`bastion.oci` (layers streamed, whiteouts applied in memory); OSV
matching and the secrets engine are passed in (:class:`VulnerabilityMatcher`,
:class:`SecretScanner`); :mod:`bastion.scanners.composed` builds the registry's gate.
"""

from bastion.scanners.image.gate import GATE_NAME, ImageGate
from bastion.scanners.image.inventory import ImageInventory, image_inventory, os_ecosystem
from bastion.scanners.image.model import (
    InstalledPackage,
    SecretHit,
    SecretScanner,
    VulnerabilityHit,
    VulnerabilityMatcher,
)

__all__ = [
    "GATE_NAME",
    "ImageGate",
    "ImageInventory",
    "InstalledPackage",
    "SecretHit",
    "SecretScanner",
    "VulnerabilityHit",
    "VulnerabilityMatcher",
    "image_inventory",
    "os_ecosystem",
]
