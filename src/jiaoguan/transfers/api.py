"""Cross-region used-car transfer endpoints. Thin handlers over ``services`` and ``selectors``."""

from ninja import Router

router = Router(tags=["transfers"])
