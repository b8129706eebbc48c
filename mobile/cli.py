"""Device command line (`onetrip-device`): `app` runs the Flet app; `sync` (headless push
and pull, see docs/design.md §Contracts) is added by the replication side in `mobile/headless_sync.py`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onetrip-device", description="OneTrip device tools 一次办设备工具")
    commands = parser.add_subparsers(dest="command", required=True)
    app = commands.add_parser("app", help="run the Flet app 运行应用")
    app.add_argument("--web", action="store_true", help="serve the app to a browser on 127.0.0.1")
    app.add_argument("--port", type=int, default=8550, help="web port (default 8550)")
    app.add_argument("--host", default="127.0.0.1", help="web host (default 127.0.0.1: loopback only)")
    app.set_defaults(handler=run_app)
    from mobile.headless_sync import add_sync_command

    add_sync_command(commands)
    return parser


def run_app(args: argparse.Namespace) -> int:
    import os

    import flet as ft

    from mobile.app import main
    from mobile.config import ASSETS_DIR, load_config
    from mobile.services.webfont import ensure_web_font
    from mobile.views.picker import enable_uploads

    if args.web:
        ensure_web_font(ASSETS_DIR)
        # Picked photos reach the app by HTTP upload, never inside the WebSocket (views/picker.py).
        uploads = enable_uploads(load_config().data_dir, os.environ)
        # no_cdn: CanvasKit and fonts come from the flet-web wheel, so it renders offline.
        ft.run(
            main,
            view=ft.AppView.WEB_BROWSER,
            host=args.host,
            port=args.port,
            no_cdn=True,
            assets_dir=str(ASSETS_DIR),
            upload_dir=str(uploads),
        )
    else:
        ft.run(main, assets_dir=str(ASSETS_DIR))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
