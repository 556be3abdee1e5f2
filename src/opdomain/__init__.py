"""opdomain — the Public Data Authorized Operation Domain (公共数据授权运营域).

Raw data never leaves the domain; data is usable but not visible (rules 一.(一), R1.1a).
"""

__version__ = "0.1.0"
