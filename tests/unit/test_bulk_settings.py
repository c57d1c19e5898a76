"""BULK_BUCKETS: the buckets bulk runs may name (relay/settings.py)."""

from __future__ import annotations

import pytest

from relay import ConfigError
from relay.settings import Settings

BASE = {"AIG_ACCOUNT_ID": "acct", "AIG_GATEWAY_ID": "gw", "AIG_TOKEN": "tok-abcdefgh"}


def test_unset_means_any_bucket() -> None:
    assert Settings.from_env(BASE).bulk_buckets is None


def test_a_comma_list_with_or_without_gs_prefix() -> None:
    settings = Settings.from_env(BASE | {"BULK_BUCKETS": " gs://in-bucket/ ,out.bucket,, "})
    assert settings.bulk_buckets == frozenset({"in-bucket", "out.bucket"})


@pytest.mark.parametrize("raw", ["Bad_Bucket", "ok-bucket,x", ","])
def test_a_bad_name_names_the_setting(raw: str) -> None:
    with pytest.raises(ConfigError, match="BULK_BUCKETS must be a comma list"):
        Settings.from_env(BASE | {"BULK_BUCKETS": raw})
