from tests.lifecycle.domain_setup import bengfa, domain, seeded_template  # noqa: F401
