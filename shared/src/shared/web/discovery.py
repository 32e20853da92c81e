"""Collect every `router` defined in a service's `routers` package, so adding a module adds its routes.

Routes are matched in order, one regex after another, so a module on a hot path may set
`ORDER = 0` (default 100) to be matched first; ties go by module name.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from fastapi import APIRouter


def discover_routers(package: ModuleType) -> list[APIRouter]:
    found: list[tuple[int, str, APIRouter]] = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            found.append((int(getattr(module, "ORDER", 100)), info.name, router))
    return [router for _, _, router in sorted(found, key=lambda t: (t[0], t[1]))]
