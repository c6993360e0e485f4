from tenure_shared.db import Base, run_alembic_env

run_alembic_env(Base.metadata)
