"""The zipapp's entry point: a file of the commit rather than ``zipapp -m``, which would
write one stamped with the build's clock and so make every build's bytes differ."""

from inventory.server import main

main()
