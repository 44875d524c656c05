"""Governance: users, roles and tokens, and the verifiable (Merkle) audit log."""

__all__: list[str] = []
