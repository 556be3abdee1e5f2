"""The job tests' fixtures, shared (the seeded domain, the grant, the declared rating-list shape)."""

from tests.jobs.conftest import airlocked, bengfa, domain, seeded_template  # noqa: F401
