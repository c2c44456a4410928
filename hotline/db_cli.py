"""`hotline db ...`: maintenance of the application database.

Usage:
    hotline db upgrade          # apply every Alembic migration to DATABASE_URL
    python -m hotline.db_cli upgrade
"""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from hotline.db import upgrade_database
from hotline.settings import get_settings

db_app = typer.Typer(help="Cơ sở dữ liệu của ứng dụng: tạo và nâng cấp bảng.", no_args_is_help=True)


@db_app.callback()
def _db() -> None:
    """Cơ sở dữ liệu của ứng dụng."""


@db_app.command("upgrade")
def upgrade(
    revision: Annotated[str, typer.Argument(help="phiên bản đích, mặc định là mới nhất")] = "head",
) -> None:
    """Áp dụng các migration Alembic lên cơ sở dữ liệu (DATABASE_URL)."""
    url = get_settings().database_url
    # Only the backend and database name: the URL may hold a password.
    target = make_url(url)
    where = f"{target.get_backend_name()}:{target.database}"
    try:
        upgrade_database(url, revision)
    except SQLAlchemyError as error:
        typer.echo(
            f"Không nâng cấp được cơ sở dữ liệu {where}: {error.__class__.__name__}", err=True
        )
        raise typer.Exit(1) from None
    typer.echo(f"Cơ sở dữ liệu {where} đã ở phiên bản {revision}.")


if __name__ == "__main__":
    db_app()
