"""Herald's storage: SQLAlchemy Core tables, and repositories, the only code that runs SQL."""
