from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _key_dir(tmp_path, settings):
    """Each test signs with keys of its own, in a private folder."""
    settings.CREDENTIAL_KEY_DIR = str(tmp_path / "keys")
    settings.DEMO_MODE = True
    from jiaoguan.credentials.keys import trust_cache_clear

    trust_cache_clear()
    yield
    trust_cache_clear()
