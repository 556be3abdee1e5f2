"""Job code of the reference scenario, run in the sandbox on real data inside the domain."""
