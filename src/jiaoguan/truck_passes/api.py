"""Truck restriction rules and pass codes endpoints. Thin handlers over ``services`` and ``selectors``."""

from ninja import Router

router = Router(tags=["truck-passes"])
