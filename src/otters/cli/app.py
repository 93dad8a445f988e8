"""The ``otters`` command. Every command is a thin wrapper over a library function.

Each command group lives in its own module with a ``register(app)`` function; this file only
assembles them and turns user errors into one clear line and exit code 2 (no traceback).
"""

from __future__ import annotations

import importlib
import sys

import typer

from otters import __version__
from otters.cli import (
    data_cmd,
    degrade_cmd,
    device_cmd,
    energy_cmd,
    export_cmd,
    glue_table_cmd,
    matterhorn_cmd,
    model_cmd,
    predict_cmd,
    robustness_cmd,
    run_cmd,
    sparsity_cmd,
    tolerance_cmd,
    train_cmd,
    verify_cmd,
    vit_cmd,
)
from otters.errors import OttersError
from otters.paths import os_error_line


def _exception_classes(name: str) -> tuple[type, ...]:
    """The classes called ``name`` in click and in typer (recent typer vendors its own click)."""
    found = []
    for module_name in ("typer.exceptions", "typer._click.exceptions", "click.exceptions"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        cls = getattr(module, name, None)
        if isinstance(cls, type) and cls not in found:
            found.append(cls)
    return tuple(found)


_EXIT = _exception_classes("Exit")
_ABORT = _exception_classes("Abort")
_USAGE = _exception_classes("UsageError")
_CLICK = _exception_classes("ClickException")

app = typer.Typer(
    name="otters",
    help="Energy-efficient spiking transformers: optoelectronic TTFS, lossless QNN->SNN, energy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Energy-efficient spiking transformers: optoelectronic TTFS, lossless QNN->SNN, energy."""


@app.command("version")
def version() -> None:
    """Print the otters version."""
    print(__version__)


# One module per command group; each defines register(app). This order is the order of `otters --help`.
for _commands in (device_cmd, verify_cmd, model_cmd, data_cmd, train_cmd, robustness_cmd, energy_cmd, vit_cmd, run_cmd,
                  sparsity_cmd, matterhorn_cmd, tolerance_cmd, degrade_cmd, glue_table_cmd, export_cmd, predict_cmd):
    _commands.register(app)


def fail(message: str) -> None:
    """Print one error line and exit 2."""
    print(f"otters: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    try:
        rv = app(args=argv, standalone_mode=False)
        if isinstance(rv, int) and rv != 0:
            raise SystemExit(rv)
    except _EXIT as exc:
        raise SystemExit(getattr(exc, "exit_code", 0)) from None
    except _ABORT:
        print("otters: interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except _USAGE as exc:
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        fail(f"{exc.format_message()}{hint}")
    except _CLICK as exc:
        fail(exc.format_message())
    except OttersError as exc:
        fail(str(exc))
    except FileNotFoundError as exc:
        fail(f"file not found: {exc.filename or exc}")
    except IsADirectoryError as exc:
        fail(f"expected a file, got a directory: {exc.filename or exc}")
    except OSError as exc:  # the file-system boundary: any other OSError on a user's path, one line
        fail(os_error_line(exc))
    except MemoryError:
        fail("out of memory; lower the sizes of the request (--T, --batch-size, rows)")
    except KeyboardInterrupt:
        print("otters: interrupted; run again with --resume to continue where it stopped", file=sys.stderr)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
