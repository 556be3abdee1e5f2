"""Egress (数据出域): what may leave the domain, and how a released copy is bound and traced
(SPEC §6; rules 一.(一) R1.1a, 四.(四) R4.4a, 四.(五) R4.5a, 五.(一) R5.1b).

Pure modules, no database and no web: ``checks`` runs the automated airlock checks on an output
file and returns findings; ``manifest`` builds, signs and verifies a release's manifest. The
airlock service that stores requests and reviewers' votes sits above and calls them. The recipient
watermark lives in :mod:`opdomain.privacy.watermark` (it is a privacy rule, not an egress step).
"""
