"""Old-neighbourhood parking segments endpoints. Thin handlers over ``services`` and ``selectors``."""

from ninja import Router

router = Router(tags=["parking"])
