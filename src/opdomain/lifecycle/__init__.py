"""Lifecycle (授权运营生命周期): grants, their terms and status, and the consent registry.

Safe projects (rules 一.(五) R1.5a, 一.(一) R1.1c, 三.(九) R3.9a) and consent (个人/企业授权, 四.(二) R4.2b,
五.(一) R5.1a). The full nine-step authorization state machine arrives with the lifecycle issue; until
then the authority creates grants directly (:func:`opdomain.lifecycle.grants.create_grant`).
"""
