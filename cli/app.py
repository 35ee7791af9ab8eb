"""The root of the `copflow` command: sub-commands, and errors as one line and an exit code."""

from __future__ import annotations

import sys

from cli.startup import pause_garbage_collection

pause_garbage_collection()

# These imports come after the collector is paused: start-up allocates a great deal.
import typer  # noqa: E402
from typer._click import exceptions as usage  # noqa: E402 - typer vendors its own click

from cli import backup, doctor, fidelity, lifecycle, operations, planning, records, reporting, roles, web  # noqa: E402
from cli.server import server_app  # noqa: E402
from demo.gallery import gallery as show_gallery  # noqa: E402
from demo.play import demo as play_demo  # noqa: E402
from models.errors import CopflowError  # noqa: E402

app = typer.Typer(
    name="copflow",
    help="Run Communities of Practice from launch to a graceful close.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(records.community_app, name="community")
app.add_typer(records.member_app, name="member")
app.add_typer(records.session_app, name="session")
app.add_typer(records.task_app, name="task")
app.add_typer(planning.story_app, name="story")
app.add_typer(server_app, name="server")
app.command("audit")(records.audit)
lifecycle.register(app)
roles.register(app)
reporting.register(app)
operations.register(app)
fidelity.register(app)
web.register(app)
app.command("demo")(play_demo)
app.command("gallery")(show_gallery)
app.command("backup")(backup.backup)
doctor.register(app)


@app.command("init")
def init() -> None:
    """Create or upgrade the database."""
    from tasks.storage.db import upgrade
    from tasks.storage.settings import get_settings

    get_settings()  # a wrong setting is said before anything is written
    upgrade()
    typer.echo(f"database ready: {get_settings().db_url.split('@')[-1]}")


MULTI_VALUE_OPTIONS = {"--attended", "--topic", "--method", "--output", "--agenda"}


def expand_multi_values(argv: list[str]) -> list[str]:
    """Let `--attended a b c` mean `--attended a --attended b --attended c`, as DESIGN writes it."""
    out: list[str] = []
    current: str | None = None
    for arg in argv:
        if arg == "--":
            current = None
            out.append(arg)
        elif arg.startswith("-"):
            option = arg.split("=", 1)[0]
            current = option if option in MULTI_VALUE_OPTIONS else None
            out.append(arg)
        elif current is not None and out[-1] != current and "--" not in out:
            out.extend([current, arg])
        else:
            out.append(arg)
    return out


LONGEST_WORD = 200  # a longer word in an error is a value someone pasted: quote only its start
LONGEST_ERROR = 480


def _one_line(message: str) -> str:
    """One line, short, visible: an error quotes at most an excerpt of what it was given, and shows
    control characters as escapes rather than letting them act on the terminal."""
    from models.text import visible

    words = [w if len(w) <= LONGEST_WORD else f"{w[:40]}...({len(w):,} characters)" for w in message.split()]
    line = " ".join(words)
    if len(line) > LONGEST_ERROR:
        line = f"{line[:LONGEST_ERROR - 100]} ... {line[-90:]}"
    return visible(line)


def main(argv: list[str] | None = None) -> int:
    args = expand_multi_values(list(sys.argv[1:] if argv is None else argv))
    from tasks.storage.operator import at_the_terminal

    at_the_terminal()  # whatever this command changes is audited as typed by this OS user
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="copflow", standalone_mode=False)
    except CopflowError as exc:
        print(f"copflow: {_one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except usage.NoArgsIsHelpError:
        # Asking for nothing shows the help (already printed); that is not a mistake.
        return 0
    except usage.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        print(f"copflow: {_one_line(exc.format_message())}{hint}", file=sys.stderr)
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        print("copflow: aborted", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("copflow: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        from cli.unexpected import describe

        message, code = describe(exc)
        print(f"copflow: {message}", file=sys.stderr)
        return code
    return code if isinstance(code, int) else 0  # click returns a typer.Exit's code here


if __name__ == "__main__":
    sys.exit(main())
