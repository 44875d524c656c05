"""Governance: users, roles and tokens, and the verifiable (Merkle) audit log.

Authorisation is :func:`authorize` (raises ``PermissionDenied`` naming the missing
permission, and audits the refusal); authentication is :func:`authenticate` (raises
``Unauthenticated`` for a wrong, expired or revoked token without saying which). The
four-eyes rule on approvals stays the registry's: pass :meth:`Principal.actor` to
``loopml.registry.approve``.
"""

from loopml.governance._log import (
    KEY_FILE,
    ORIGIN,
    Verification,
    make_checkpoint,
    read_checkpoint,
    sign_checkpoint,
    signing_key,
    verify_log,
)
from loopml.governance._merkle import (
    consistency_proof,
    inclusion_proof,
    tree_root,
    verify_consistency,
    verify_inclusion,
)
from loopml.governance._projects import (
    ANY_PROJECT_OPERATIONS,
    CROSS_PROJECT_READS,
    DEFAULT_PROJECT,
    PROJECT_TAG,
    ProjectResolver,
    tagged_project,
)
from loopml.governance._roles import (
    DEFAULT_MATRIX,
    PERMISSIONS,
    ROLES,
    Principal,
    authorize,
    check_permission,
    check_role,
    local_principal,
    permissions_of,
    principal_for,
    projects_with,
    role_permissions,
)
from loopml.governance._tokens import authenticate, create_token

__all__ = [
    "ANY_PROJECT_OPERATIONS",
    "CROSS_PROJECT_READS",
    "DEFAULT_MATRIX",
    "DEFAULT_PROJECT",
    "KEY_FILE",
    "ORIGIN",
    "PERMISSIONS",
    "PROJECT_TAG",
    "ROLES",
    "Principal",
    "ProjectResolver",
    "Verification",
    "authenticate",
    "authorize",
    "check_permission",
    "check_role",
    "consistency_proof",
    "create_token",
    "inclusion_proof",
    "local_principal",
    "make_checkpoint",
    "permissions_of",
    "principal_for",
    "projects_with",
    "read_checkpoint",
    "role_permissions",
    "sign_checkpoint",
    "signing_key",
    "tagged_project",
    "tree_root",
    "verify_consistency",
    "verify_inclusion",
    "verify_log",
]
