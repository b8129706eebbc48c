"""App composition without Flet: config file, translations, the seed catalog as wizard items,
and a sync round with no network that leaves the bar saying "offline"."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from mobile.config import ConfigError, load_config
from mobile.replication import Backoff
from mobile.services.i18n import Translator, keys
from mobile.viewmodels.context import AppContext
from mobile.viewmodels.sync import SyncLevel
from tests.unit.mobile.factories import make_case
from tests.unit.mobile.fakes import FakeAuth, sign_in_with_pin


def test_both_languages_have_the_same_keys() -> None:
    assert keys("zh") == keys("en")


def test_translator_is_chinese_first_then_english() -> None:
    assert Translator("zh")("next") == "下一步 Next"
    assert Translator("en")("next") == "Next"
    assert Translator("zh")("pin_wrong", left=2) == "密码不对，还可以试2次 Wrong PIN, 2 tries left"
    assert Translator("zh")("no-such-key") == "no-such-key"


def test_config_reads_flet_toml_and_environment(tmp_path: Path) -> None:
    file = tmp_path / "flet.toml"
    file.write_text('[server]\nurl = "https://gov.example/"\nsync_interval = 30\n[app]\nlanguage = "en"\n')
    config = load_config(file, environ={"ONETRIP_DEVICE_DATA": str(tmp_path / "d")})
    assert config.server_url == "https://gov.example"
    assert (config.sync_interval, config.language, config.data_dir) == (30, "en", tmp_path / "d")
    assert load_config(file, environ={"ONETRIP_SERVER_URL": "http://x"}).server_url == "http://x"
    project = load_config(environ={})
    assert project.brand_name and project.server_url.startswith("http")


@pytest.mark.parametrize(
    "text", ['[app]\nlanguage = "fr"\n', "[server]\nsync_interval = 1\n", "[server\n", 'server = "x"\n']
)
def test_bad_config_says_which_key(tmp_path: Path, text: str) -> None:
    file = tmp_path / "flet.toml"
    file.write_text(text)
    with pytest.raises(ConfigError):
        load_config(file, environ={})


def no_network(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("no network in the village", request=request)


def make_context(tmp_path: Path, **kw: Any) -> AppContext:
    config = replace(load_config(environ={}), data_dir=tmp_path, server_url="http://server.invalid")
    return AppContext(
        config, auth=FakeAuth(), transport=httpx.MockTransport(no_network), backoff=Backoff(retries=0), **kw
    )


def test_seed_catalog_becomes_bilingual_items(tmp_path: Path) -> None:
    items = make_context(tmp_path).items
    seed = json.loads((Path(__file__).resolve().parents[3] / "assets/catalog/seed.json").read_text())
    assert [i.code for i in items] == [i["code"] for i in seed["items"]]
    first = items[0]
    assert first.name.startswith(seed["items"][0]["name_zh"]) and seed["items"][0]["name_en"] in first.name
    assert first.situations and all(s.requirements for s in first.situations)
    reusable = [r for i in items for s in i.situations for r in s.requirements if r.kind == "id_card"]
    assert reusable and all(r.reuse_key == "id_card" for r in reusable)


async def test_offline_sync_round_keeps_everything_and_says_offline(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    await sign_in_with_pin(ctx)
    make_case(ctx.book(), item_code="SB-001", status="submitted")
    assert ctx.pending() >= 2  # the case and its "created" event
    await ctx.sync_once()
    bar = ctx.sync.bar()
    assert bar.level is SyncLevel.OFFLINE and bar.pending == ctx.pending() >= 2
    lists = ctx.case_list()
    lists.refresh()
    assert lists.total == 1


@pytest.mark.usefixtures("device_in_california")
def test_today_is_the_day_in_china(tmp_path: Path) -> None:
    ctx = make_context(tmp_path, now=lambda: datetime(2026, 12, 31, 16, 30, tzinfo=UTC))
    assert ctx.today() == date(2027, 1, 1)  # deadline badges and the ID check count China's days


async def test_the_last_sync_survives_a_restart_and_goes_with_a_sign_out(tmp_path: Path) -> None:
    ctx = make_context(tmp_path)
    await sign_in_with_pin(ctx)
    synced = datetime(2026, 12, 7, 2, 30, tzinfo=UTC)
    ctx.session.save_state(replace(ctx.session.state, last_sync=synced.isoformat()))
    again = make_context(tmp_path)  # the app restarted, or locked and opened again
    assert again.sync.snapshot.last_sync == synced
    assert "12-07\u00a010:30" in again.sync.bar().head  # Beijing time, not "never synced"
    assert again.session.sign_out(confirm_loss=True)
    assert again.sync.snapshot.last_sync is None  # the next account does not see this one's sync
