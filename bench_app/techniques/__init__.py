"""The technique registry: every module in this package that declares a TECHNIQUE."""

import importlib
import pkgutil
from functools import lru_cache

from bench_app.technique import Technique


@lru_cache(maxsize=1)
def all_techniques() -> dict[str, Technique]:
    """Every technique, by key, in module-name order."""
    found: dict[str, Technique] = {}
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        technique = getattr(module, "TECHNIQUE", None)
        if isinstance(technique, Technique):
            if technique.key in found:
                raise RuntimeError(f"two techniques share the key {technique.key!r}")
            found[technique.key] = technique
    return found


def select_techniques(keys: list[str] | None) -> list[Technique]:
    """The techniques named in `keys`, all when None; an unknown key is a ValueError."""
    techniques = all_techniques()
    if not keys:
        return list(techniques.values())
    unknown = [key for key in keys if key not in techniques]
    if unknown:
        raise ValueError(
            f"unknown technique(s): {', '.join(unknown)}; known: {', '.join(techniques)}"
        )
    return [techniques[key] for key in keys]
