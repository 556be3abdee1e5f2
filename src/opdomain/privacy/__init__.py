"""Privacy (隐私保护): the pure rules that keep data usable but not visible (rules 一.(一) R1.1b).

``identifiers`` recognises and validates Chinese identifiers, ``masking`` declares the mask kinds and
builds their SQL, ``disclosure`` holds the statistical disclosure rules for outputs. This slice is
pure: no database, no engine session, no web; it only *declares* DuckDB SQL for others to run.
"""
