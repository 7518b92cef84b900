"""A database error, logged with its traceback, does not carry the statement's parameters."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from herald.storage.engine import create_engine


async def test_a_failed_statement_does_not_show_its_parameters(database_url: str) -> None:
    """Numbers and message bodies bound to a failing statement stay out of the error text."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError) as caught:
                await connection.execute(
                    text("SELECT * FROM no_such_table WHERE x = :x"), {"x": "+16282000001"}
                )
    finally:
        await engine.dispose()
    assert "+16282000001" not in str(caught.value)
    assert "no_such_table" in str(caught.value)
