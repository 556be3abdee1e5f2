"""Imports every slice's models so that ``Base.metadata`` is complete (migrations, tests)."""

from opdomain.audit import models as audit_models  # noqa: F401
from opdomain.catalog import models as catalog_models  # noqa: F401
from opdomain.compute import jobs_models  # noqa: F401
from opdomain.compute import models as compute_models  # noqa: F401
from opdomain.egress import airlock_models  # noqa: F401
from opdomain.identity import models as identity_models  # noqa: F401
from opdomain.lifecycle import models as lifecycle_models  # noqa: F401
from opdomain.products import models as product_models  # noqa: F401
from opdomain.store.db import Base

metadata = Base.metadata
