"""Reading container images safely: OCI layouts, OCI archives, ``docker save`` tarballs.

    >>> from pathlib import Path
    >>> from bastion.oci import open_image, walk_image
    >>> with open_image(Path("layout")) as image:  # doctest: +SKIP
    ...     walk = walk_image(image, collector)

A leaf package (it imports only root modules) so that both the image gate
(:mod:`bastion.scanners.image`) and the supply chain (SBOMs, push) read images the same way.
"""

from bastion.oci.blobs import MAX_JSON_BYTES, Descriptor, VerifyingReader, check_digest
from bastion.oci.errors import ImageError, RefusalReason, RegistryError
from bastion.oci.registry import Reference, RegistryClient
from bastion.oci.source import Image, open_image
from bastion.oci.walk import (
    MAX_BINARY_BYTES,
    MAX_LAYER_BYTES,
    MAX_SMALL_BYTES,
    Collector,
    Entry,
    Handling,
    Walk,
    iter_files,
    walk_image,
)

__all__ = [
    "MAX_BINARY_BYTES",
    "MAX_JSON_BYTES",
    "MAX_LAYER_BYTES",
    "MAX_SMALL_BYTES",
    "Collector",
    "Descriptor",
    "Entry",
    "Handling",
    "Image",
    "ImageError",
    "Reference",
    "RefusalReason",
    "RegistryClient",
    "RegistryError",
    "VerifyingReader",
    "Walk",
    "check_digest",
    "iter_files",
    "open_image",
    "walk_image",
]
