from tenure_shared.db import Base, run_alembic_env
from tenure_subscription import models  # noqa: F401  (registers the tables)

run_alembic_env(Base.metadata)
