"""Development tooling for voicestatus: never installed on a PBX.

The sandbox Asterisk (``sandbox``), the call driver the tests place calls
with (``driver``), tone and level detection for tests (``analysis``), the
test database and clock (``testing``) and the benchmarks (``bench``), plus
the ``demo``, ``sandbox`` and ``bench`` commands (``cli``).

They live apart from ``voicestatus`` so that the built wheel, which is what
production hosts install, carries only the product: ``pyproject.toml``
packages ``voicestatus`` alone, and the editable ``[dev]`` install puts
``src/`` on the path, which is how this package is found. Imports go one way:
this package uses the product, the product never imports it (its command line
only looks it up by name, see ``voicestatus.cli``).
"""
