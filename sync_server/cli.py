"""The `onetrip` command line (命令行).

    onetrip up [--no-app] [--no-demo]
    onetrip admin add-division CODE NAME
    onetrip admin add-user USERNAME --role ROLE --division CODE [--division CODE …] --password PW
                           [--name NAME]
    onetrip admin load-catalog FILE
    onetrip admin revoke-device DEVICE_ID
    onetrip admin list-users
    onetrip admin disable-user USERNAME | enable-user USERNAME
    onetrip admin reset-password USERNAME --password PW
    onetrip admin list-devices [--user USERNAME]
    onetrip admin export-catalog FILE
    onetrip admin rotate-signing-key [--forget-old]
    onetrip admin retry-handoff CASE_ID
    onetrip admin load-form ITEM_CODE FILE.xlsx [--situation CODE]
    onetrip admin export-form ITEM_CODE [--situation CODE] [--version V] [--output FILE]

Exit status: 0 done, 1 failed (message on stderr), 2 bad arguments or refused input.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence

from shared.errors import CatalogError, DomainError
from sync_server.admin import (
    admin_couch,
    cmd_add_division,
    cmd_add_user,
    cmd_retry_handoff,
    cmd_revoke_device,
    cmd_rotate_signing_key,
    now_iso,
)
from sync_server.admin_accounts import (
    AccountNotFound,
    cmd_disable_user,
    cmd_enable_user,
    cmd_list_devices,
    cmd_list_users,
    cmd_reset_password,
)
from sync_server.auth.accounts import AccountError
from sync_server.auth.passwords import WeakPassword
from sync_server.catalog_store import cmd_export_catalog, cmd_load_catalog
from sync_server.couch import Couch, CouchError
from sync_server.county.outbox import OutboxNotFound
from sync_server.engine import EngineError
from sync_server.forms.store import cmd_export_form, cmd_load_form
from sync_server.settings import Settings, settings_from_env
from sync_server.stack import StackContext
from sync_server.up import UpOptions, configure_logging, up

ROLES = ("village_agent", "township_staff", "county_operator")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="onetrip",
                                  description="OneTrip 最多跑一次 — server and administration")
    commands = top.add_subparsers(dest="command", required=True)
    run = commands.add_parser("up", help="start the whole stack (engine, server, …)")
    run.add_argument("--no-app", action="store_true", help="do not start the Flet app")
    run.add_argument("--no-demo", action="store_true", help="do not seed demo data into an empty data folder")
    admin = commands.add_parser("admin", help="administration commands").add_subparsers(dest="action",
                                                                                         required=True)
    division = admin.add_parser("add-division", help="register a county, township or village")
    division.add_argument("code", help="6-, 9- or 12-digit division code")
    division.add_argument("name", help="Chinese name")
    user = admin.add_parser("add-user", help="create or update a user")
    user.add_argument("username")
    user.add_argument("--role", required=True, help=" | ".join(ROLES))
    user.add_argument("--division", action="append", required=True, dest="divisions", metavar="CODE")
    user.add_argument("--password", required=True)
    user.add_argument("--name", default="", dest="display_name",
                      help="the person's name as screens and receipts show it (e.g. 李晓燕)")
    catalog = admin.add_parser("load-catalog", help="validate and load a service catalog file")
    catalog.add_argument("file")
    revoke = admin.add_parser("revoke-device", help="revoke a device: its tokens stop working")
    revoke.add_argument("device_id")
    admin.add_parser("list-users", help="list users (role, divisions, state, active devices)")
    for name, text in (("disable-user", "disable a user: refused at the next request"),
                       ("enable-user", "enable a disabled user")):
        admin.add_parser(name, help=text).add_argument("username")
    reset = admin.add_parser("reset-password", help="set a new password and sign the user out everywhere")
    reset.add_argument("username")
    reset.add_argument("--password", required=True)
    devices = admin.add_parser("list-devices", help="list devices, of one user or of all")
    devices.add_argument("--user", dest="username")
    export = admin.add_parser("export-catalog", help="write the loaded service catalog to a file")
    export.add_argument("file")
    rotate = admin.add_parser("rotate-signing-key",
                              help="new signing key; the old one stays accepted until its tokens expire")
    rotate.add_argument("--forget-old", action="store_true",
                        help="the old key was compromised: accept nothing it signed (everyone logs in again)")
    handoff = admin.add_parser("retry-handoff", help="queue a dead-lettered county hand-off again")
    handoff.add_argument("case_id", help="case:<ULID> (or the ULID)")
    form = admin.add_parser("load-form", help="validate an XLSForm workbook and store it as the item's form")
    form.add_argument("item_code")
    form.add_argument("file", help="the .xlsx workbook (survey, choices, settings)")
    form.add_argument("--situation", help="the form of one situation of the item (default: the item's)")
    form_out = admin.add_parser("export-form", help="write the item's form workbook, as loaded, to a file")
    form_out.add_argument("item_code")
    form_out.add_argument("--version", help="a stored version (default: the item's current one)")
    form_out.add_argument("--situation", help="the form of one situation of the item")
    form_out.add_argument("--output", help="the file to write (default: ITEM_CODE.xlsx)")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings = settings_from_env()
    if args.command == "up":
        configure_logging()
        return asyncio.run(up(StackContext(settings), UpOptions(app=not args.no_app, demo=not args.no_demo)))
    return asyncio.run(_admin(args, settings))


def _action(args: argparse.Namespace) -> Callable[[Couch], Awaitable[str | None]]:
    """The command as a function of the admin Couch (the commands added after the first four)."""
    now = now_iso()
    actions: dict[str, Callable[[Couch], Awaitable[str | None]]] = {
        "list-users": cmd_list_users,
        "disable-user": lambda c: cmd_disable_user(c, args.username, now),
        "enable-user": lambda c: cmd_enable_user(c, args.username, now),
        "reset-password": lambda c: cmd_reset_password(c, args.username, args.password, now),
        "list-devices": lambda c: cmd_list_devices(c, args.username),
        "export-catalog": lambda c: cmd_export_catalog(c, args.file),
        "retry-handoff": lambda c: cmd_retry_handoff(c, args.case_id),
        "load-form": lambda c: cmd_load_form(c, args.item_code, args.file, now, args.situation),
        "export-form": lambda c: cmd_export_form(c, args.item_code, args.output or f"{args.item_code}.xlsx",
                                                 args.version, args.situation),
    }
    return actions[args.action]


async def _admin(args: argparse.Namespace, settings: Settings) -> int:
    action: Callable[[Couch], Awaitable[str | None]]
    if args.action == "rotate-signing-key":  # files only: CouchDB is not needed
        print(await cmd_rotate_signing_key(settings.secrets_dir, args.forget_old))
        return 0
    if args.action == "add-division":
        def action(c: Couch) -> Awaitable[str | None]:
            return cmd_add_division(c, args.code, args.name)
    elif args.action == "add-user":
        def action(c: Couch) -> Awaitable[str | None]:
            return cmd_add_user(c, args.username, args.role, args.divisions, args.password,
                                args.display_name)
    elif args.action == "revoke-device":
        def action(c: Couch) -> Awaitable[str | None]:
            return cmd_revoke_device(c, args.device_id)
    elif args.action == "load-catalog":
        def action(c: Couch) -> Awaitable[str | None]:
            return cmd_load_catalog(c, args.file)
    else:
        action = _action(args)
    try:
        async with admin_couch(settings) as couch:
            message = await action(couch)
    except CatalogError as exc:
        print(f"事项目录有 {len(exc.entries)} 处错误 / the catalog has {len(exc.entries)} error(s):",
              file=sys.stderr)
        for entry in exc.entries:
            print(f"  {entry}", file=sys.stderr)
        return 2
    except AccountNotFound as exc:
        print(f"用户不存在 / no such user: {exc}", file=sys.stderr)
        return 1
    except OutboxNotFound as exc:
        print(f"没有该办件的推送记录 / no county hand-off for {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"无法读取文件 / cannot read the file: {exc}", file=sys.stderr)
        return 2
    except (DomainError, AccountError, WeakPassword, ValueError) as exc:
        print(f"错误 / error: {exc}", file=sys.stderr)
        return 2
    except (CouchError, EngineError) as exc:
        print(f"失败 / failed: {exc}", file=sys.stderr)
        return 1
    if message is None:
        print(f"未找到 / not found: {getattr(args, 'device_id', '')}", file=sys.stderr)
        return 1
    print(message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
