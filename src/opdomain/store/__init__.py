"""Records store: SQLAlchemy 2 engine and sessions over SQLite (embedded) or PostgreSQL.

The schema is made only by the Alembic migrations in ``store/migrations`` (also in tests).
"""

from opdomain.store.db import Base, Store, utcnow

__all__ = ["Base", "Store", "utcnow"]
