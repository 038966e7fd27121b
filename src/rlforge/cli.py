"""The `rlforge` command. Commands come from the register_commands hook (built-ins included).

Errors in the user's input end in one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import sys

import click

import rlforge
from rlforge.errors import RLForgeError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.version_option(rlforge.__version__, prog_name="rlforge")
def cli():
    """rlforge: reinforcement learning with algorithms as plugins.

    \b
    Start with:
      rlforge list                                   installed algorithms
      rlforge train --algo sac --env HalfCheetah-v4  train with tuned defaults
      rlforge train --help                           every training option
    """


def build_cli() -> click.Group:
    from rlforge.plugins import get_host

    get_host().add_commands(cli)
    return cli


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"rlforge: error: {message}", err=True)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    try:
        group = build_cli()
        group.main(args=argv, prog_name="rlforge", standalone_mode=False)
    except RLForgeError as exc:
        _fail(str(exc), exc.exit_code)
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        _fail(exc.format_message().replace("\n", " ") + hint, 2)
    except click.exceptions.Abort:
        _fail("aborted", 130)
    except click.ClickException as exc:
        _fail(exc.format_message().replace("\n", " "), exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)


if __name__ == "__main__":
    main()
