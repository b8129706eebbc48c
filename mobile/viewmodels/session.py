"""Sign-in (登录) and offline unlock with a PIN; sign-out that protects unsynced work.

Screens: LOGIN (first sign-in, online) → SET_PIN → READY; on later starts UNLOCK (offline,
PIN) → READY. Sign-out wipes local data, so it refuses while changes wait to be synced
unless the user confirms the loss explicitly.

A forgotten PIN (忘记解锁密码) is reset by signing in again online as the same account:
UNLOCK → LOGIN (resetting) → SET_PIN → READY. Nothing is wiped, so unsynced work survives;
another account cannot take over the phone this way (it must sign out, which protects the
unsynced work as above), and the old PIN stays valid until the password has been accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from enum import StrEnum

from argon2 import PasswordHasher

from mobile.services.auth_client import AuthClient, AuthError
from mobile.services.device_state import Account, DeviceState, DeviceStateFile
from mobile.services.errors import PinError
from mobile.services.i18n import Translator
from mobile.services.pin import DEFAULT_HASHER, PinRecord, check_pin, create_pin


class Screen(StrEnum):
    LOGIN = "login"
    SET_PIN = "set_pin"
    UNLOCK = "unlock"
    READY = "ready"


class SessionViewModel:
    """State of the sign-in screens; `pending` counts local changes not yet pushed."""

    def __init__(
        self,
        state_file: DeviceStateFile,
        auth: AuthClient,
        t: Translator,
        *,
        default_server: str,
        clock: Callable[[], float],
        pending: Callable[[], int],
        wipe: Callable[[], None],
        hasher: PasswordHasher = DEFAULT_HASHER,
    ) -> None:
        self.state_file = state_file
        self.auth = auth
        self.t = t
        self.clock = clock
        self.pending = pending
        self.wipe = wipe
        self.hasher = hasher
        self.state: DeviceState = state_file.load()
        self.server_url = self.state.server_url or default_server
        self.username = self.state.account.username if self.state.account else ""
        self.password = ""
        self.pin = ""
        self.pin_confirm = ""
        self.error = ""
        self.busy = False
        self.confirm_loss_needed = False
        self.resetting = False
        if self.state.account is None or not self.state.refresh_token:
            self.screen = Screen.LOGIN
        elif self.state.pin is None:
            self.screen = Screen.SET_PIN
        else:
            self.screen = Screen.UNLOCK

    @property
    def account(self) -> Account | None:
        return self.state.account

    def forgot_pin(self) -> None:
        """From the PIN screen: sign in again online as this phone's account for a new PIN."""
        if self.state.account is None:
            return
        self.resetting = True
        self.username = self.state.account.username
        self.password = self.error = ""
        self.screen = Screen.LOGIN

    def cancel_reset(self) -> None:
        """Back to the PIN screen; the old PIN still opens the app."""
        self.resetting = False
        self.password = self.error = ""
        self.screen = Screen.UNLOCK if self.state.pin is not None else Screen.LOGIN

    async def sign_in(self) -> bool:
        """First sign-in, or the one that resets a forgotten PIN: needs the network; stores
        tokens and the account."""
        if not (self.server_url.strip() and self.username.strip() and self.password):
            self.error = self.t("login_fill_all")
            return False
        if self.resetting and self.state.account is not None and (
            self.username.strip().lower() != self.state.account.username.lower()
        ):
            # This phone's unsynced work belongs to its account: no other one takes it over.
            self.error = self.t("reset_pin_same_user", username=self.state.account.username)
            self.password = ""
            return False
        self.busy = True
        try:
            tokens = await self.auth.login(
                self.server_url.strip(), self.username.strip(), self.password, self.state.device_id
            )
        except AuthError as error:
            self.error = str(error)
            return False
        finally:
            self.busy = False
            self.password = ""
        self._save(
            replace(
                self.state,
                server_url=self.server_url.strip().rstrip("/"),
                account=tokens.account,
                access_token=tokens.access_token,
                refresh_token=tokens.refresh_token,
                pin=None,
            )
        )
        self.error = ""
        self.resetting = False
        self.screen = Screen.SET_PIN
        return True

    def set_pin(self) -> bool:
        """Chooses the 6-digit PIN used to open the app offline."""
        if self.pin != self.pin_confirm:
            self.error = self.t("pin_mismatch")
            return False
        try:
            record = create_pin(self.pin, self.hasher)
        except PinError as error:
            self.error = str(error)
            return False
        self._save(replace(self.state, pin=record.to_json()))
        self.pin = self.pin_confirm = ""
        self.error = ""
        self.screen = Screen.READY
        return True

    def unlock(self) -> bool:
        """Offline unlock; wrong PINs count towards a growing lock."""
        if self.state.pin is None:
            self.screen = Screen.SET_PIN
            return False
        result = check_pin(PinRecord.from_json(self.state.pin), self.pin, self.clock(), self.hasher)
        self.pin = ""
        self._save(replace(self.state, pin=result.record.to_json()))
        if result.ok:
            self.error = ""
            self.screen = Screen.READY
            return True
        if result.locked_for > 0:
            self.error = self.t("pin_locked", minutes=max(1, round(result.locked_for / 60)))
        else:
            self.error = self.t("pin_wrong", left=result.attempts_left)
        return False

    def lock(self) -> None:
        """Back to the PIN screen (e.g. after the phone was put away)."""
        if self.state.pin is not None:
            self.screen = Screen.UNLOCK

    def sign_out(self, confirm_loss: bool = False) -> bool:
        """Wipes this phone's data; refused while changes are unsynced unless confirmed."""
        waiting = self.pending()
        if waiting and not confirm_loss:
            self.confirm_loss_needed = True
            self.error = self.t("signout_unsynced", n=waiting)
            return False
        self.wipe()
        self._save(DeviceState(device_id=self.state.device_id, server_url=self.state.server_url))
        self.confirm_loss_needed = False
        self.error = ""
        self.username = self.password = ""
        self.screen = Screen.LOGIN
        return True

    def update_tokens(self, access_token: str, refresh_token: str) -> None:
        """After a background refresh (when the network returns)."""
        self._save(replace(self.state, access_token=access_token, refresh_token=refresh_token))

    def remember_item(self, code: str) -> None:
        self._save(self.state.with_recent_item(code))

    def save_state(self, state: DeviceState) -> None:
        """Stores device state changed elsewhere (sync checkpoint, cached public key)."""
        self._save(state)

    def _save(self, state: DeviceState) -> None:
        self.state = state
        self.state_file.save(state)
