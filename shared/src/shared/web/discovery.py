"""Collect every `router` defined in a service's `routers` package, so adding a module adds its routes."""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from fastapi import APIRouter


def discover_routers(package: ModuleType) -> list[APIRouter]:
    routers: list[APIRouter] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            routers.append(router)
    return routers
