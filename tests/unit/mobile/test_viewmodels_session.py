"""Sign-in view-model: online first login, PIN, offline unlock with lockout, guarded sign-out."""

from __future__ import annotations

from pathlib import Path

from mobile.services.device_state import DeviceStateFile
from mobile.services.i18n import Translator
from mobile.services.pin import FREE_ATTEMPTS
from mobile.viewmodels.session import Screen, SessionViewModel
from tests.unit.mobile.fakes import AGENT, FAST_HASHER, FakeAuth


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def make_vm(folder: Path, auth: FakeAuth | None = None, pending: int = 0,
            clock: Clock | None = None) -> tuple[SessionViewModel, list[bool]]:
    wiped: list[bool] = []
    vm = SessionViewModel(
        DeviceStateFile(folder),
        auth or FakeAuth(),
        Translator("zh"),
        default_server="http://127.0.0.1:8000",
        clock=clock or Clock(),
        pending=lambda: pending,
        wipe=lambda: wiped.append(True),
        hasher=FAST_HASHER,
    )
    return vm, wiped


def screen_of(vm: SessionViewModel) -> Screen:
    """The screen now. Read through a call because mypy would keep an `assert vm.screen is X`
    narrowing across the calls that change the screen, and skip the rest of the test as unreachable."""
    return vm.screen


async def signed_in(folder: Path) -> SessionViewModel:
    vm, _ = make_vm(folder)
    vm.username, vm.password = "agent1", "secret-pw"
    assert await vm.sign_in()
    vm.pin = vm.pin_confirm = "246810"
    assert vm.set_pin()
    return vm


async def test_first_sign_in_then_pin_then_offline_unlock(tmp_path: Path) -> None:
    vm, _ = make_vm(tmp_path)
    assert screen_of(vm) is Screen.LOGIN
    vm.username, vm.password = "agent1", "secret-pw"
    assert await vm.sign_in()
    assert screen_of(vm) is Screen.SET_PIN and vm.password == ""
    vm.pin, vm.pin_confirm = "246810", "246811"
    assert not vm.set_pin() and "不一样" in vm.error
    vm.pin = vm.pin_confirm = "246810"
    assert vm.set_pin() and screen_of(vm) is Screen.READY
    # Restart with no network: the PIN screen, and the PIN opens the app.
    offline = FakeAuth(online=False)
    again, _ = make_vm(tmp_path, auth=offline)
    assert screen_of(again) is Screen.UNLOCK and again.account == AGENT
    again.pin = "246810"
    assert again.unlock() and screen_of(again) is Screen.READY
    assert offline.calls == 0
    assert "246810" not in (tmp_path / "device.json").read_text()


async def test_wrong_password_and_offline_first_login_explain(tmp_path: Path) -> None:
    vm, _ = make_vm(tmp_path)
    vm.username, vm.password = "agent1", "nope"
    assert not await vm.sign_in()
    assert "密码" in vm.error and "password" in vm.error and screen_of(vm) is Screen.LOGIN
    vm2, _ = make_vm(tmp_path, auth=FakeAuth(online=False))
    vm2.username, vm2.password = "agent1", "secret-pw"
    assert not await vm2.sign_in()
    assert "服务器" in vm2.error
    vm2.password = ""
    assert not await vm2.sign_in() and "请填写" in vm2.error


async def test_pin_lockout_survives_restart(tmp_path: Path) -> None:
    await signed_in(tmp_path)
    clock = Clock()
    vm, _ = make_vm(tmp_path, clock=clock)
    for _ in range(FREE_ATTEMPTS - 1):
        vm.pin = "000000"
        assert not vm.unlock()
    assert "还可以试1次" in vm.error
    vm.pin = "000000"
    assert not vm.unlock() and "分钟" in vm.error and "0次" not in vm.error  # no "0 tries left"
    # A restart does not reset the lock.
    vm2, _ = make_vm(tmp_path, clock=clock)
    vm2.pin = "246810"
    assert not vm2.unlock() and screen_of(vm2) is Screen.UNLOCK
    clock.now += 3600
    vm2.pin = "246810"
    assert vm2.unlock()


async def test_a_weak_pin_is_refused_with_a_reason(tmp_path: Path) -> None:
    vm, _ = make_vm(tmp_path)
    vm.username, vm.password = "agent1", "secret-pw"
    assert await vm.sign_in() and screen_of(vm) is Screen.SET_PIN
    vm.pin = vm.pin_confirm = "123456"
    assert not vm.set_pin() and screen_of(vm) is Screen.SET_PIN
    assert "太容易" in vm.error and "too easy" in vm.error
    vm.pin = vm.pin_confirm = "730419"
    assert vm.set_pin() and screen_of(vm) is Screen.READY


async def test_sign_out_refuses_to_lose_unsynced_work(tmp_path: Path) -> None:
    await signed_in(tmp_path)
    vm, wiped = make_vm(tmp_path, pending=3)
    assert not vm.sign_out()
    assert vm.confirm_loss_needed and "3" in vm.error and not wiped
    assert vm.sign_out(confirm_loss=True) and wiped == [True]
    assert screen_of(vm) is Screen.LOGIN
    vm3, _ = make_vm(tmp_path)
    assert screen_of(vm3) is Screen.LOGIN and vm3.account is None


async def test_sign_out_when_all_synced_needs_no_confirmation(tmp_path: Path) -> None:
    await signed_in(tmp_path)
    vm, wiped = make_vm(tmp_path, pending=0)
    assert vm.sign_out() and wiped == [True]


async def test_recent_items_keep_the_latest_first(tmp_path: Path) -> None:
    vm = await signed_in(tmp_path)
    for code in ["a", "b", "a", "c"]:
        vm.remember_item(code)
    assert vm.state.recent_items == ("c", "a", "b")


async def test_forgotten_pin_is_reset_by_signing_in_again_keeping_unsynced_work(tmp_path: Path) -> None:
    await signed_in(tmp_path)
    vm, wiped = make_vm(tmp_path, pending=3)  # three changes wait to be synced
    assert screen_of(vm) is Screen.UNLOCK
    vm.forgot_pin()
    assert screen_of(vm) is Screen.LOGIN and vm.resetting and vm.username == "agent1"
    vm.password = "wrong"
    assert not await vm.sign_in() and "密码" in vm.error
    vm.password = "secret-pw"
    assert await vm.sign_in() and screen_of(vm) is Screen.SET_PIN and not vm.resetting
    vm.pin = vm.pin_confirm = "135792"
    assert vm.set_pin() and screen_of(vm) is Screen.READY
    assert wiped == []  # nothing deleted: the unsynced work is still on the phone
    again, _ = make_vm(tmp_path)
    again.pin = "246810"
    assert not again.unlock()  # the forgotten PIN no longer opens the app
    again.pin = "135792"
    assert again.unlock()


async def test_pin_reset_refuses_another_account(tmp_path: Path) -> None:
    """The attack: someone who knows another account's password takes over this phone (and its
    unsynced cases) through "forgot PIN" instead of signing out."""
    await signed_in(tmp_path)
    auth = FakeAuth()
    vm, wiped = make_vm(tmp_path, auth=auth, pending=2)
    vm.forgot_pin()
    vm.username, vm.password = "staff1", "secret-pw"
    assert not await vm.sign_in()
    assert "agent1" in vm.error and "退出登录" in vm.error
    assert auth.calls == 0 and screen_of(vm) is Screen.LOGIN and vm.password == ""
    assert vm.account is not None and vm.account.username == "agent1" and wiped == []


async def test_pin_reset_can_be_cancelled_and_the_old_pin_still_opens(tmp_path: Path) -> None:
    await signed_in(tmp_path)
    vm, _ = make_vm(tmp_path, auth=FakeAuth(online=False))
    vm.forgot_pin()
    vm.password = "secret-pw"
    assert not await vm.sign_in() and "服务器" in vm.error  # offline: the reset needs the network
    vm.cancel_reset()
    assert screen_of(vm) is Screen.UNLOCK and not vm.resetting and vm.error == ""
    vm.pin = "246810"
    assert vm.unlock()
