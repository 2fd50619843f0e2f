"""Shared pieces of the command line: consoles, JSON output, error handling, progress bars."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from haoban.config import get_settings
from haoban.errors import HaobanError, exit_code
from haoban.knowledge.service import KnowledgeService

out = Console()
err = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="以 JSON 输出")]


def service(embedder: bool = True) -> KnowledgeService:
    from haoban.logs import setup_logging

    settings = get_settings()
    setup_logging("WARNING", settings.log_json)
    return KnowledgeService(settings, embedder="auto" if embedder else None)


def print_json(value: Any) -> None:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, list):
        value = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def handled(fn: Callable) -> Callable:
    """Turn project errors into a Chinese message and a non-zero exit code, never a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HaobanError as e:
            # The message is text, not markup: "pip install 'haoban[postgres]'" must keep its brackets.
            err.print(f"[red]错误[/red]（{e.code}）：{escape(e.message)}")
            if e.detail:
                err.print(f"详情：{e.detail}", markup=False)
            raise typer.Exit(exit_code(e)) from None

    return wrapper


def progress(label: str) -> Progress:
    return Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[item]}", style="dim"),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    )


