"""``productkit.runtime`` loads its parts when a name is first used: every name it exports
resolves, and importing the package alone does not load the engine."""

from __future__ import annotations

import subprocess
import sys

import productkit.runtime as runtime


def test_every_exported_name_resolves_to_its_module() -> None:
    assert set(runtime.__all__) == set(runtime._MODULES)
    for name in runtime.__all__:
        value = getattr(runtime, name)
        module = sys.modules[f"productkit.runtime.{runtime._MODULES[name]}"]
        assert getattr(module, name) is value, name


def test_reading_a_seal_does_not_load_the_engine() -> None:
    code = ("import sys, productkit.runtime.seal as s; s.manifest_digest({'a': 1}); "
            "print(sorted(m for m in sys.modules if m.startswith('productkit.runtime.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "productkit.runtime.engine" not in out and "productkit.runtime.seal" in out
