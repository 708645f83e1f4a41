"""systemd: the worker units over D-Bus (pystemd), their actions and their journal's words.

pystemd's package ``__init__`` imports its high-level unit classes, and with them lxml (≈ 10 ms
before the console's first frame), while this package uses only its two compiled modules,
``dbuslib`` and ``dbusexc``. So the package is registered here without running its
``__init__``: its submodules import as ever, and the first attribute asked of the package
itself runs the ``__init__`` then, as importing it would have (benchmarks/README.md, "First
paint").
"""

from __future__ import annotations

import importlib.util
import sys
import threading


def _register_pystemd_lazily() -> None:
    if "pystemd" in sys.modules:
        return
    spec = importlib.util.find_spec("pystemd")
    if spec is None or spec.loader is None:
        return  # not installed: the import that needs it says so
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader
    lock = threading.Lock()

    def package_getattr(name: str) -> object:
        with lock:
            if package.__dict__.get("__getattr__") is package_getattr:
                del package.__dict__["__getattr__"]
                loader.exec_module(package)
        return getattr(package, name)

    package.__dict__["__getattr__"] = package_getattr
    sys.modules["pystemd"] = package


_register_pystemd_lazily()
