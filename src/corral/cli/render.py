"""The only printer of the CLI: tables, messages, and errors as one readable line."""

from __future__ import annotations

from rich.console import Console

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # an error stays one line


def error(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)


def info(message: str) -> None:
    console.print(message, highlight=False)
