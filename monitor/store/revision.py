"""The newest migration, known without importing Alembic or SQLAlchemy (a test checks it
against Alembic's head)."""

HEAD_REVISION = "0008"
