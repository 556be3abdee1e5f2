"""Data products (数据产品) and their released versions, downloads and tracing (SPEC §6, R1.3c, R6.10)."""
