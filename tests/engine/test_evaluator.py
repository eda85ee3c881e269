"""Evaluator cases, one or more per rule of AWS's policy evaluation logic.

Each case names the IAM User Guide page it follows. Pages:
- EVAL: "Policy evaluation logic" (reference_policies_evaluation-logic), including
  "Determining whether a request is allowed or denied within an account".
- CROSS: "Cross-account policy evaluation logic" (reference_policies_evaluation-logic-cross-account).
- BOUNDARY: "Permissions boundaries for IAM entities" (access_policies_boundaries).
- SCP: AWS Organizations "Service control policies (SCPs)" (orgs_manage_policies_scps).
- RCP: AWS Organizations "Resource control policies (RCPs)" (orgs_manage_policies_rcps).
- ELEMENTS: "IAM JSON policy elements" pages for Action, NotAction, Resource, NotResource,
  Principal and NotPrincipal.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.authorizer import Authorizer
from engine.evaluator import Decision
from engine.inventory import (
    AccountInventory,
    Bucket,
    InlinePolicy,
    ManagedPolicy,
    Organization,
    OrgPolicy,
    Role,
    Snapshot,
    User,
)

ACCOUNT = "123456789012"
OTHER = "210987654321"
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def user(name: str, *statements: dict[str, Any], account: str = ACCOUNT, boundary: str | None = None) -> User:
    inline = (InlinePolicy("inline", policy(*statements)),) if statements else ()
    return User(
        arn=f"arn:aws:iam::{account}:user/{name}",
        name=name,
        user_id=f"AIDA{name.upper()}",
        account=account,
        inline_policies=inline,
        permissions_boundary_arn=boundary,
    )


def role(name: str, trust: dict[str, Any], *statements: dict[str, Any], account: str = ACCOUNT, **extra: Any) -> Role:
    inline = (InlinePolicy("inline", policy(*statements)),) if statements else ()
    return Role(
        arn=f"arn:aws:iam::{account}:role/{name}",
        name=name,
        role_id=f"AROA{name.upper()}",
        account=account,
        trust_policy=trust,
        inline_policies=inline,
        **extra,
    )


def bucket(name: str, bucket_policy: dict[str, Any] | None, account: str = ACCOUNT) -> Bucket:
    return Bucket(name=name, arn=f"arn:aws:s3:::{name}", account=account, policy=bucket_policy)


def snapshot(
    *records: Any, organization: Organization | None = None, managed: tuple[ManagedPolicy, ...] = ()
) -> Snapshot:
    result = Snapshot(path="test", organization=organization)
    for record in records:
        account = result.accounts.setdefault(record.account, AccountInventory(record.account))
        if isinstance(record, User):
            account.users[record.arn] = record
        elif isinstance(record, Role):
            account.roles[record.arn] = record
        elif isinstance(record, Bucket):
            account.buckets[record.arn] = record
    for managed_policy in managed:
        for account in result.accounts.values():
            account.managed_policies[managed_policy.arn] = managed_policy
    return result


def decide(snap: Snapshot, principal: str, action: str, resource: str, **context: str) -> Decision:
    authorizer = Authorizer(snap, graph_mode=False)
    given = {key.replace("__", ":").replace("_slash_", "/"): (value,) for key, value in context.items()}
    return authorizer.decide(authorizer.request_principal(principal), action, resource, given=given).decision


CARLOS = f"arn:aws:iam::{ACCOUNT}:user/carlossalazar"


def carlos_snapshot() -> Snapshot:
    # EVAL: the page's own example, "Example identity-based and resource-based policy evaluation".
    carlos = user(
        "carlossalazar",
        {
            "Sid": "AllowS3ListRead",
            "Effect": "Allow",
            "Action": [
                "s3:GetBucketLocation",
                "s3:GetAccountPublicAccessBlock",
                "s3:ListAccessPoints",
                "s3:ListAllMyBuckets",
            ],
            "Resource": "arn:aws:s3:::*",
        },
        {
            "Sid": "AllowS3Self",
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"],
        },
        {"Sid": "DenyS3Logs", "Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::*log*"},
    )
    own = bucket(
        "carlossalazar",
        policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": CARLOS},
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"],
            }
        ),
    )
    return snapshot(carlos, own, bucket("carlossalazar-logs", None))


def test_explicit_deny_wins_over_allow() -> None:
    # EVAL example: the write to carlossalazar-logs is denied by DenyS3Logs.
    assert decide(carlos_snapshot(), CARLOS, "s3:PutObject", "arn:aws:s3:::carlossalazar-logs/a.txt") is Decision.DENY


def test_identity_and_resource_allow() -> None:
    # EVAL example: the write to his own bucket is allowed by both policies.
    assert decide(carlos_snapshot(), CARLOS, "s3:PutObject", "arn:aws:s3:::carlossalazar/a.txt") is Decision.ALLOW


def test_implicit_deny_without_allow() -> None:
    # EVAL "The difference between explicit and implicit denies": nothing allows it.
    assert decide(carlos_snapshot(), CARLOS, "ec2:RunInstances", "*") is Decision.DENY


def test_resource_policy_alone_grants_user_same_account() -> None:
    # EVAL: within one account, an Allow for the user ARN in a resource-based policy is enough.
    alice = user("alice")
    data = bucket(
        "data",
        policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": alice.arn},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::data/*",
            }
        ),
    )
    assert decide(snapshot(alice, data), alice.arn, "s3:GetObject", "arn:aws:s3:::data/x") is Decision.ALLOW


def test_resource_policy_naming_account_needs_identity_policy() -> None:
    # EVAL: a Principal of the account delegates to the account's identity-based policies.
    alice = user("alice")
    bob = user("bob", allow("s3:GetObject", "arn:aws:s3:::data/*"))
    data = bucket(
        "data",
        policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::data/*",
            }
        ),
    )
    snap = snapshot(alice, bob, data)
    assert decide(snap, alice.arn, "s3:GetObject", "arn:aws:s3:::data/x") is Decision.DENY
    assert decide(snap, bob.arn, "s3:GetObject", "arn:aws:s3:::data/x") is Decision.ALLOW


BOUNDARY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/boundary-ec2-only"
BOUNDARY = ManagedPolicy(BOUNDARY_ARN, "boundary-ec2-only", "/", policy(allow("ec2:*")), is_aws_managed=False)


def test_boundary_limits_identity_policy() -> None:
    # BOUNDARY: the entity may do only what both its identity-based policy and its boundary allow.
    alice = user("alice", allow("s3:*"), boundary=BOUNDARY_ARN)
    assert (
        decide(snapshot(alice, managed=(BOUNDARY,)), alice.arn, "s3:GetObject", "arn:aws:s3:::any/x") is Decision.DENY
    )


def test_boundary_does_not_limit_grant_to_user_arn() -> None:
    # EVAL table "IAM user": a resource-based grant to the user ARN is not limited by the boundary.
    alice = user("alice", boundary=BOUNDARY_ARN)
    data = bucket(
        "data",
        policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": alice.arn},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::data/*",
            }
        ),
    )
    snap = snapshot(alice, data, managed=(BOUNDARY,))
    assert decide(snap, alice.arn, "s3:GetObject", "arn:aws:s3:::data/x") is Decision.ALLOW


def test_boundary_limits_grant_to_role_arn() -> None:
    # EVAL table "IAM role": a resource-based grant to the role ARN is limited by the boundary.
    app = role("app", policy(), permissions_boundary_arn=BOUNDARY_ARN)
    data = bucket(
        "data",
        policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": app.arn},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::data/*",
            }
        ),
    )
    snap = snapshot(app, data, managed=(BOUNDARY,))
    assert decide(snap, app.arn, "s3:GetObject", "arn:aws:s3:::data/x") is Decision.DENY


def test_grant_to_role_arn_without_boundary() -> None:
    # EVAL table "IAM role": without a boundary the grant to the role ARN stands on its own.
    app = role("app", policy())
    data = bucket(
        "data",
        policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": app.arn},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::data/*",
            }
        ),
    )
    assert decide(snapshot(app, data), app.arn, "s3:GetObject", "arn:aws:s3:::data/x") is Decision.ALLOW


def test_grant_to_session_arn_not_limited_by_boundary() -> None:
    # EVAL table "IAM role session": a grant to the session ARN is not limited by the boundary.
    app = role("app", policy(), permissions_boundary_arn=BOUNDARY_ARN)
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/app/job-7"
    data = bucket(
        "data",
        policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": session},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::data/*",
            }
        ),
    )
    snap = snapshot(app, data, managed=(BOUNDARY,))
    assert decide(snap, session, "s3:GetObject", "arn:aws:s3:::data/x") is Decision.ALLOW
    assert decide(snap, app.arn, "s3:GetObject", "arn:aws:s3:::data/x") is Decision.DENY


def test_cross_account_needs_both_sides() -> None:
    # CROSS: the identity-based policy in the caller's account and the resource-based policy must both allow.
    outsider = user("outsider", allow("s3:GetObject"), account=OTHER)
    no_identity = user("nobody", account=OTHER)
    shared = bucket(
        "shared",
        policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": OTHER},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::shared/*",
            }
        ),
    )
    private = bucket("private", None)
    snap = snapshot(outsider, no_identity, shared, private)
    assert decide(snap, outsider.arn, "s3:GetObject", "arn:aws:s3:::shared/x") is Decision.ALLOW
    assert decide(snap, no_identity.arn, "s3:GetObject", "arn:aws:s3:::shared/x") is Decision.DENY
    assert decide(snap, outsider.arn, "s3:GetObject", "arn:aws:s3:::private/x") is Decision.DENY


TRUST_ROOT = policy(
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
)


def test_trust_in_root_delegates_to_identity_policy() -> None:
    # EVAL: role trust policies must allow the principal; naming the account root delegates to
    # identity-based policies, so only principals whose own policies allow sts:AssumeRole pass.
    admin = role("admin", TRUST_ROOT)
    alice = user("alice", allow("sts:AssumeRole", admin.arn))
    bob = user("bob")
    snap = snapshot(admin, alice, bob)
    assert decide(snap, alice.arn, "sts:AssumeRole", admin.arn) is Decision.ALLOW
    assert decide(snap, bob.arn, "sts:AssumeRole", admin.arn) is Decision.DENY


def test_trust_policy_required_even_with_identity_allow() -> None:
    # EVAL: role trust policies are an exception; an identity-based Allow alone is not enough.
    service_role = role(
        "svc", policy({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"})
    )
    alice = user("alice", allow("sts:AssumeRole"))
    assert decide(snapshot(service_role, alice), alice.arn, "sts:AssumeRole", service_role.arn) is Decision.DENY


def test_trust_naming_user_directly_same_account() -> None:
    # EVAL: a trust policy that names the user ARN grants within the account without an identity Allow.
    alice = user("alice")
    helper = role("helper", policy({"Effect": "Allow", "Principal": {"AWS": alice.arn}, "Action": "sts:AssumeRole"}))
    assert decide(snapshot(alice, helper), alice.arn, "sts:AssumeRole", helper.arn) is Decision.ALLOW


def test_service_principal_assumes_trusting_role() -> None:
    # ELEMENTS (Principal, "AWS service principals"): the service named in the trust policy may assume the role.
    service_role = role(
        "svc", policy({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"})
    )
    snap = snapshot(service_role)
    assert decide(snap, "lambda.amazonaws.com", "sts:AssumeRole", service_role.arn) is Decision.ALLOW
    assert decide(snap, "ec2.amazonaws.com", "sts:AssumeRole", service_role.arn) is Decision.DENY


def test_not_action_allows_everything_else() -> None:
    # ELEMENTS (NotAction): Allow with NotAction allows every action except those listed.
    alice = user("alice", {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    snap = snapshot(alice)
    assert decide(snap, alice.arn, "s3:GetObject", "arn:aws:s3:::any/x") is Decision.ALLOW
    assert decide(snap, alice.arn, "iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/x") is Decision.DENY


def test_not_resource_excludes_listed_resources() -> None:
    # ELEMENTS (NotResource): the statement covers every resource except those listed.
    alice = user("alice", {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"})
    snap = snapshot(alice)
    assert decide(snap, alice.arn, "s3:GetObject", "arn:aws:s3:::public/x") is Decision.ALLOW
    assert decide(snap, alice.arn, "s3:GetObject", "arn:aws:s3:::secret/x") is Decision.DENY


def test_actions_match_case_insensitively() -> None:
    # ELEMENTS (Action): action names are case-insensitive.
    alice = user("alice", allow("S3:getobject", "arn:aws:s3:::data/*"))
    assert decide(snapshot(alice), alice.arn, "s3:GetObject", "arn:aws:s3:::data/x") is Decision.ALLOW


def test_resources_match_case_sensitively() -> None:
    # ELEMENTS (Resource): ARNs are case-sensitive.
    alice = user("alice", allow("s3:GetObject", "arn:aws:s3:::Data/*"))
    assert decide(snapshot(alice), alice.arn, "s3:GetObject", "arn:aws:s3:::data/x") is Decision.DENY


def test_question_mark_matches_one_character() -> None:
    # ELEMENTS (Resource): ? matches exactly one character.
    alice = user("alice", allow("s3:GetObject", "arn:aws:s3:::logs-?/*"))
    snap = snapshot(alice)
    assert decide(snap, alice.arn, "s3:GetObject", "arn:aws:s3:::logs-1/x") is Decision.ALLOW
    assert decide(snap, alice.arn, "s3:GetObject", "arn:aws:s3:::logs-12/x") is Decision.DENY


def test_username_variable_in_resource() -> None:
    # "IAM policy elements: Variables and tags": ${aws:username} is replaced with the caller's name.
    alice = user("alice", allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*"))
    snap = snapshot(alice)
    assert decide(snap, alice.arn, "s3:GetObject", "arn:aws:s3:::home/alice/notes") is Decision.ALLOW
    assert decide(snap, alice.arn, "s3:GetObject", "arn:aws:s3:::home/bob/notes") is Decision.DENY


def vault_denying_all_but(*exempt: str) -> Bucket:
    return bucket(
        "vault",
        policy(
            {
                "Effect": "Deny",
                "NotPrincipal": {"AWS": list(exempt)},
                "Action": "s3:*",
                "Resource": "arn:aws:s3:::vault/*",
            }
        ),
    )


ROOT = f"arn:aws:iam::{ACCOUNT}:root"


def test_not_principal_deny_spares_listed_principal() -> None:
    # ELEMENTS (NotPrincipal), its example "IAM user in the same or a different account": the user
    # and its account are listed, so the deny spares that user and hits everyone else.
    alice = user("alice", allow("s3:GetObject"))
    bob = user("bob", allow("s3:GetObject"))
    snap = snapshot(alice, bob, vault_denying_all_but(alice.arn, ROOT))
    assert decide(snap, alice.arn, "s3:GetObject", "arn:aws:s3:::vault/x") is Decision.ALLOW
    assert decide(snap, bob.arn, "s3:GetObject", "arn:aws:s3:::vault/x") is Decision.DENY


def test_not_principal_without_account_is_uncertain() -> None:
    # ELEMENTS (NotPrincipal): without the account ARN "the policy might deny access to the
    # entire account containing the principal", so the answer is conditional, not allow.
    alice = user("alice", allow("s3:GetObject"))
    snap = snapshot(alice, vault_denying_all_but(alice.arn))
    assert decide(snap, alice.arn, "s3:GetObject", "arn:aws:s3:::vault/x") is Decision.CONDITIONAL


def test_not_principal_role_without_session_denies_session() -> None:
    # ELEMENTS (NotPrincipal), example "IAM role in the same or different account": a session is
    # identified by its session name, so listing only the role and account still denies the session.
    app = role("app", policy(), allow("s3:GetObject"))
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s1"
    snap = snapshot(app, vault_denying_all_but(app.arn, ROOT))
    assert decide(snap, session, "s3:GetObject", "arn:aws:s3:::vault/x") is Decision.DENY
    spared = snapshot(app, vault_denying_all_but(session, app.arn, ROOT))
    assert decide(spared, session, "s3:GetObject", "arn:aws:s3:::vault/x") is Decision.ALLOW


def test_not_principal_deny_hits_bounded_principal() -> None:
    # BOUNDARY: a Deny with NotPrincipal always denies a principal that has a permissions boundary.
    open_boundary = ManagedPolicy(BOUNDARY_ARN, "open", "/", ALLOW_ALL, is_aws_managed=False)
    alice = user("alice", allow("s3:GetObject"), boundary=BOUNDARY_ARN)
    snap = snapshot(alice, vault_denying_all_but(alice.arn, ROOT), managed=(open_boundary,))
    assert decide(snap, alice.arn, "s3:GetObject", "arn:aws:s3:::vault/x") is Decision.DENY


def test_condition_with_given_context() -> None:
    # EVAL "Processing the request context": conditions read values from the request context.
    alice = user("alice", allow("s3:GetObject", Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}))
    snap = snapshot(alice)
    assert decide(snap, alice.arn, "s3:GetObject", "arn:aws:s3:::d/x", aws__SourceIp="203.0.113.9") is Decision.ALLOW
    assert decide(snap, alice.arn, "s3:GetObject", "arn:aws:s3:::d/x", aws__SourceIp="198.51.100.1") is Decision.DENY
    assert decide(snap, alice.arn, "s3:GetObject", "arn:aws:s3:::d/x") is Decision.DENY


def test_unknowable_condition_is_conditional_in_graph_mode() -> None:
    # A key the snapshot cannot know makes the graph's answer conditional, never a silent allow or deny.
    alice = user("alice", allow("s3:GetObject", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))
    authorizer = Authorizer(snapshot(alice), graph_mode=True)
    evaluation = authorizer.decide(authorizer.request_principal(alice.arn), "s3:GetObject", "arn:aws:s3:::d/x")
    assert evaluation.decision is Decision.CONDITIONAL
    assert [clause.key for clause in evaluation.conditions] == ["aws:MultiFactorAuthPresent"]


def test_check_mode_lists_missing_keys() -> None:
    # Like the policy simulator, a key neither given nor derivable is absent, and the answer lists it.
    alice = user("alice", allow("s3:GetObject", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))
    authorizer = Authorizer(snapshot(alice), graph_mode=False)
    evaluation = authorizer.decide(authorizer.request_principal(alice.arn), "s3:GetObject", "arn:aws:s3:::d/x")
    assert evaluation.decision is Decision.DENY
    assert "aws:MultiFactorAuthPresent" in evaluation.missing_keys


def test_principal_tag_is_derived() -> None:
    # "IAM policy elements: Variables and tags": aws:PrincipalTag comes from the principal's tags.
    tagged = User(
        arn=f"arn:aws:iam::{ACCOUNT}:user/dana",
        name="dana",
        user_id="AIDADANA",
        account=ACCOUNT,
        tags={"team": "hr"},
        inline_policies=(
            InlinePolicy("p", policy(allow("s3:GetObject", "arn:aws:s3:::${aws:PrincipalTag/team}-docs/*"))),
        ),
    )
    snap = snapshot(tagged)
    assert decide(snap, tagged.arn, "s3:GetObject", "arn:aws:s3:::hr-docs/x") is Decision.ALLOW
    assert decide(snap, tagged.arn, "s3:GetObject", "arn:aws:s3:::it-docs/x") is Decision.DENY


def organization(*policies: OrgPolicy, management: str = "999999999999") -> Organization:
    return Organization(
        organization_id="o-example",
        management_account_id=management,
        root_ids=("r-root",),
        account_ids=(ACCOUNT, OTHER, management),
        parents={ACCOUNT: "ou-dev", "ou-dev": "r-root", OTHER: "r-root", management: "r-root"},
        policies=policies,
        enabled_policy_types=frozenset({"SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"}),
    )


FULL_ACCESS = OrgPolicy(
    "p-FullAWSAccess",
    "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess",
    "FullAWSAccess",
    "SERVICE_CONTROL_POLICY",
    ALLOW_ALL,
    True,
    ("r-root", "ou-dev", ACCOUNT, OTHER),
)


def test_scp_deny_blocks_member_account() -> None:
    # SCP: an SCP Deny applies to every principal of the member account, administrators included.
    deny_s3 = OrgPolicy(
        "p-deny",
        "arn:aws:organizations::999999999999:policy/o-example/service_control_policy/p-deny",
        "deny-s3",
        "SERVICE_CONTROL_POLICY",
        policy(deny("s3:*")),
        False,
        ("ou-dev",),
    )
    admin = user("admin", allow("*"))
    snap = snapshot(admin, organization=organization(FULL_ACCESS, deny_s3))
    assert decide(snap, admin.arn, "s3:GetObject", "arn:aws:s3:::d/x") is Decision.DENY
    assert decide(snap, admin.arn, "ec2:CreateVpc", "*") is Decision.ALLOW


def test_scp_must_allow_at_every_level() -> None:
    # SCP: an action must be allowed at the root, every OU and the account; a missing Allow at one level denies it.
    ec2_only = OrgPolicy(
        "p-ec2",
        "arn:aws:organizations::999999999999:policy/o-example/service_control_policy/p-ec2",
        "ec2-only",
        "SERVICE_CONTROL_POLICY",
        policy(allow("ec2:*")),
        False,
        ("ou-dev",),
    )
    root_only = OrgPolicy(
        "p-full",
        "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess",
        "FullAWSAccess",
        "SERVICE_CONTROL_POLICY",
        ALLOW_ALL,
        True,
        ("r-root", ACCOUNT),
    )
    admin = user("admin", allow("*"))
    snap = snapshot(admin, organization=organization(root_only, ec2_only))
    assert decide(snap, admin.arn, "s3:GetObject", "arn:aws:s3:::d/x") is Decision.DENY
    assert decide(snap, admin.arn, "ec2:CreateVpc", "*") is Decision.ALLOW


def test_scp_does_not_apply_to_management_account() -> None:
    # SCP: SCPs do not affect users or roles in the management account.
    deny_all = OrgPolicy(
        "p-deny",
        "arn:aws:organizations::999999999999:policy/o-example/service_control_policy/p-deny",
        "deny-all",
        "SERVICE_CONTROL_POLICY",
        policy(deny("*")),
        False,
        ("r-root",),
    )
    admin = user("admin", allow("*"), account="999999999999")
    snap = snapshot(admin, organization=organization(FULL_ACCESS, deny_all))
    assert decide(snap, admin.arn, "s3:GetObject", "arn:aws:s3:::d/x") is Decision.ALLOW


def test_scp_does_not_apply_to_service_linked_role() -> None:
    # SCP: SCPs do not affect service-linked roles.
    deny_all = OrgPolicy(
        "p-deny",
        "arn:aws:organizations::999999999999:policy/o-example/service_control_policy/p-deny",
        "deny-all",
        "SERVICE_CONTROL_POLICY",
        policy(deny("*")),
        False,
        ("r-root",),
    )
    linked = role(
        "AWSServiceRoleForSupport",
        policy({"Effect": "Allow", "Principal": {"Service": "support.amazonaws.com"}, "Action": "sts:AssumeRole"}),
        allow("s3:GetObject"),
        path="/aws-service-role/support.amazonaws.com/",
    )
    snap = snapshot(linked, organization=organization(FULL_ACCESS, deny_all))
    assert decide(snap, linked.arn, "s3:GetObject", "arn:aws:s3:::d/x") is Decision.ALLOW


def test_rcp_denies_outside_principal() -> None:
    # RCP: an RCP limits access to resources of member accounts, here from principals outside the organization.
    perimeter = OrgPolicy(
        "p-rcp",
        "arn:aws:organizations::999999999999:policy/o-example/resource_control_policy/p-rcp",
        "perimeter",
        "RESOURCE_CONTROL_POLICY",
        policy(
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-example"}},
            }
        ),
        False,
        (ACCOUNT,),
    )
    full_rcp = OrgPolicy(
        "p-RCPFullAWSAccess",
        "arn:aws:organizations::aws:policy/resource_control_policy/p-RCPFullAWSAccess",
        "RCPFullAWSAccess",
        "RESOURCE_CONTROL_POLICY",
        policy({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}),
        True,
        ("r-root",),
    )
    stranger = user("stranger", allow("s3:GetObject"), account="444455556666")
    member = user("member", allow("s3:GetObject"), account=OTHER)
    shared = bucket(
        "shared",
        policy({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared/*"}),
    )
    snap = snapshot(stranger, member, shared, organization=organization(FULL_ACCESS, full_rcp, perimeter))
    assert decide(snap, stranger.arn, "s3:GetObject", "arn:aws:s3:::shared/x") is Decision.DENY
    assert decide(snap, member.arn, "s3:GetObject", "arn:aws:s3:::shared/x") is Decision.ALLOW


def test_public_bucket_allows_anonymous() -> None:
    # ELEMENTS (Principal, "All principals"): "*" includes anonymous callers.
    public = bucket(
        "public",
        policy({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::public/*"}),
    )
    snap = snapshot(public)
    assert decide(snap, "anonymous", "s3:GetObject", "arn:aws:s3:::public/x") is Decision.ALLOW
    assert decide(snap, "anonymous", "s3:PutObject", "arn:aws:s3:::public/x") is Decision.DENY


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        pytest.param(allow("s3:GetObject", "arn:aws:s3:::data/*"), Decision.ALLOW, id="allow-whole-bucket"),
        pytest.param(
            allow("s3:GetObject", "arn:aws:s3:::data/public/*"), Decision.ALLOW, id="allow-prefix-reaches-some-objects"
        ),
        pytest.param(allow("s3:GetObject", "arn:aws:s3:::other/*"), Decision.DENY, id="allow-other-bucket"),
    ],
)
def test_resource_set_allow_intersects(statement: dict[str, Any], expected: Decision) -> None:
    # The graph asks about "some object of the bucket": an Allow on any part of it reaches the bucket.
    alice = user("alice", statement)
    authorizer = Authorizer(snapshot(alice), graph_mode=True)
    principal = authorizer.request_principal(alice.arn)
    result = authorizer.decide(
        principal, "s3:GetObject", "arn:aws:s3:::data/*", resource_account=ACCOUNT, resource_is_set=True
    )
    assert result.decision is expected


def test_resource_set_partial_deny_keeps_access() -> None:
    # A Deny on one prefix removes only that part of the bucket; other objects stay readable.
    alice = user("alice", allow("s3:GetObject"), deny("s3:GetObject", "arn:aws:s3:::data/secret/*"))
    authorizer = Authorizer(snapshot(alice), graph_mode=True)
    principal = authorizer.request_principal(alice.arn)
    result = authorizer.decide(
        principal, "s3:GetObject", "arn:aws:s3:::data/*", resource_account=ACCOUNT, resource_is_set=True
    )
    assert result.decision is Decision.ALLOW


def test_bucket_region_is_requested_region() -> None:
    # Global condition keys, aws:RequestedRegion: the Region the request goes to; an S3 ARN has no
    # Region, so the bucket's own Region is used.
    region_fence = OrgPolicy(
        "p-regions",
        "arn:aws:organizations::999999999999:policy/o-example/service_control_policy/p-regions",
        "regions",
        "SERVICE_CONTROL_POLICY",
        policy(deny("*", Condition={"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}})),
        False,
        ("r-root",),
    )
    reader = user("reader", allow("s3:GetObject"))
    eu = Bucket(name="eu-data", arn="arn:aws:s3:::eu-data", account=ACCOUNT, region="eu-west-1")
    us = Bucket(name="us-data", arn="arn:aws:s3:::us-data", account=ACCOUNT, region="us-east-1")
    snap = snapshot(reader, eu, us, organization=organization(FULL_ACCESS, region_fence))
    assert decide(snap, reader.arn, "s3:GetObject", "arn:aws:s3:::eu-data/x") is Decision.ALLOW
    assert decide(snap, reader.arn, "s3:GetObject", "arn:aws:s3:::us-data/x") is Decision.DENY
