"""Accounts, devices and tokens (账号与令牌).

For API handlers of other modules:

    from sync_server.auth import current_user, require_role, AccountRole
    user = await require_role(request, AccountRole.TOWNSHIP_STAFF)

The names are loaded lazily so that the submodules can import each other freely.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sync_server.auth.accounts import AccountRole, User
    from sync_server.auth.current import current_user, require_role

__all__ = ["AccountRole", "User", "current_user", "require_role"]


def __getattr__(name: str) -> Any:
    if name in ("AccountRole", "User"):
        from sync_server.auth import accounts

        return getattr(accounts, name)
    if name in ("current_user", "require_role"):
        from sync_server.auth import current

        return getattr(current, name)
    raise AttributeError(name)
