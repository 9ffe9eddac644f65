"""Training recipes that ship with the package (YAML files, read with :func:`recipe_path`)."""
from __future__ import annotations

import os

RECIPE_DIR = os.path.dirname(os.path.abspath(__file__))


def recipe_path(name: str) -> str:
    """Path of a shipped recipe, e.g. ``recipe_path("mini/teacher")``; FileNotFoundError names the choices."""
    path = os.path.join(RECIPE_DIR, name if name.endswith(".yaml") else name + ".yaml")
    if not os.path.isfile(path):
        have = sorted(os.path.relpath(os.path.join(d, f), RECIPE_DIR)[:-5] for d, _, fs in os.walk(RECIPE_DIR)
                      for f in fs if f.endswith(".yaml") and not f.startswith("_"))
        raise FileNotFoundError(f"recipe {name!r} not found in {RECIPE_DIR} (shipped: {', '.join(have)})")
    return path
