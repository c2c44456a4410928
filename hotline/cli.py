"""The `hotline` command: run the assistant, chat with it, train and evaluate the NLU.

hotline run                      start the assistant (Rasa server + action server)
hotline chat                     talk to it from a terminal
hotline nlu train|predict|evaluate
hotline db upgrade               create or migrate the application database
hotline directory ...            the service directory (search, resolve, import, export)
hotline staff add|list|deactivate   staff accounts of the console (password on stdin)
hotline purge [--older-than DAYS]   remove conversation text past the retention period
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from helpdesk.cli import purge, staff_app
from hotline.db_cli import db_app
from hotline.rasa_env import RasaEnvironmentMissing, module_command, rasa_env
from hotline.settings import REPO_ROOT, get_settings
from knowledge.cli import directory_app

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
nlu_app = typer.Typer(help="Train, use and measure the Vietnamese NLU model.", no_args_is_help=True)
app.add_typer(nlu_app, name="nlu")
app.add_typer(db_app, name="db")
app.add_typer(directory_app, name="directory")
app.add_typer(staff_app, name="staff")
app.command("purge")(purge)


@app.command()
def run() -> None:
    """Start the assistant and serve until interrupted (Ctrl-C or SIGTERM)."""
    from hotline.run import run as run_services

    raise typer.Exit(run_services(get_settings()))


@app.command()
def chat(sender: Annotated[str | None, typer.Option(help="conversation id")] = None) -> None:
    """Chat with the running assistant in this terminal."""
    from hotline.chat import chat as chat_loop

    raise typer.Exit(chat_loop(get_settings(), sender=sender))


def _exec_in_rasa_env(module: str, args: list[str]) -> None:
    """Replace this process with MODULE run by the Rasa environment's Python, so that
    stdin, stdout and the exit code pass straight through."""
    try:
        command = module_command(get_settings(), module, args)
    except RasaEnvironmentMissing as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    sys.stdout.flush()
    os.chdir(REPO_ROOT)
    os.execve(command[0], command, rasa_env())


@nlu_app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train(ctx: typer.Context) -> None:
    """Augment the training data and train the model into models/ (skipped if unchanged)."""
    _exec_in_rasa_env("nlu.train", ctx.args)


@nlu_app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def predict(ctx: typer.Context) -> None:
    """Read JSON lines {"text": ...} on stdin, write one parse per line on stdout."""
    _exec_in_rasa_env("nlu.predict", ctx.args)


@nlu_app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def evaluate(ctx: typer.Context) -> None:
    """Accuracy, macro-F1, per-register accuracy and risk recall (add --folds 5 for CV)."""
    _exec_in_rasa_env("nlu.evaluate", ctx.args)


if __name__ == "__main__":
    app()
