"""Bastion: a self-hosted CI/CD system in which security is the pipeline itself.

$ bastion run            # run this repository's pipeline in sandboxes
$ bastion scan .         # run the security gates only
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
