"""The `herald` command line.

Each command lives in its own module and is registered here. Commands raise `HeraldError`s;
the group turns them into a one-line message on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

from typing import Any

import click

from herald import __version__
from herald.errors import HeraldError


class _HeraldGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except HeraldError as exc:
            raise click.ClickException(exc.detail) from None


@click.group(cls=_HeraldGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="herald", message="%(prog)s %(version)s")
def main() -> None:
    """Herald: reach people by SMS, WhatsApp, voice and e-mail, correctly."""


from herald.cli.segments import segments  # noqa: E402

main.add_command(segments)

from herald.cli.phone import phone  # noqa: E402

main.add_command(phone)

from herald.cli.emulator import emulator  # noqa: E402

main.add_command(emulator)

from herald.cli.serve import serve  # noqa: E402

main.add_command(serve)

from herald.cli.migrate import migrate  # noqa: E402

main.add_command(migrate)

from herald.cli.tenants import tenants  # noqa: E402

main.add_command(tenants)

from herald.cli.keys import keys  # noqa: E402

main.add_command(keys)

from herald.cli.config import config  # noqa: E402

main.add_command(config)

from herald.cli.worker import worker  # noqa: E402

main.add_command(worker)
