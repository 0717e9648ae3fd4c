"""The form preview script: JSON Forms and its vanilla renderers bundled with esbuild from the
versions pinned in ``tools/forms`` (``bundle-preview.js``), at the time the site is written."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

__all__ = ["bundle_previews"]


def bundle_previews(tools: Path, target: Path) -> str | None:
    """Write the bundle to ``target``; None when done, else why it could not be (no Node, or
    ``npm ci`` not run in ``tools``)."""
    node = shutil.which("node")
    if node is None:
        return "Node.js is not installed"
    if not (tools / "node_modules" / "@jsonforms" / "vanilla-renderers").is_dir():
        return f"the pinned packages are not installed (npm ci in {tools})"
    target.parent.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([node, "bundle-preview.js", str(target.resolve())], cwd=tools, capture_output=True,
                         text=True, check=False, timeout=300)
    return None if run.returncode == 0 else f"bundling failed: {run.stderr.strip()[:500]}"
