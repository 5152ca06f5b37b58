"""Study to reduce points and full-score education endpoints. Thin handlers over ``services`` and ``selectors``."""

from ninja import Router

router = Router(tags=["points-study"])
