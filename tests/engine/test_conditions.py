"""Tests for engine.conditions.

Cases come from the IAM User Guide wherever it gives an example, and the comment above each
group names the page. Page paths are relative to docs.aws.amazon.com/IAM/latest/UserGuide/.
Where a table's "Match" column reports whether access is granted rather than whether the
condition holds, the comment notes it.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.conditions import (
    ConditionClause,
    KeyStatus,
    RequestContext,
    Truth,
    evaluate_conditions,
    substitute_variables,
    wildcard_match,
)
from engine.errors import PolicyError

Block = dict[str, dict[str, Any]]
Values = dict[str, str | list[str]]

TRUE = Truth.TRUE
FALSE = Truth.FALSE
UNKNOWN = Truth.UNKNOWN


def truth_of(block: Block, values: Values, **options: Any) -> Truth:
    return evaluate_conditions(block, RequestContext.build(values, **options)).truth


# --- String operators --------------------------------------------------------------------
# "IAM JSON policy elements: Condition operators"
# (reference_policies_elements_condition_operators.html), section "String condition operators".

JOB_CATEGORY = {"StringEquals": {"aws:PrincipalTag/job-category": "iamuser-admin"}}
INSTANCE_TYPES = ["t1.*", "t2.*", "m3.*"]
PREPROD = ["preprod", "storage"]

STRING_CASES = [
    # Table of "Example string condition operator".
    pytest.param(
        JOB_CATEGORY,
        {"aws:PrincipalTag/job-category": "iamuser-admin"},
        TRUE,
        id="StringEquals-doc-match",
    ),
    pytest.param(
        JOB_CATEGORY,
        {"aws:PrincipalTag/job-category": "dev-ops"},
        FALSE,
        id="StringEquals-doc-other-value",
    ),
    pytest.param(JOB_CATEGORY, {}, FALSE, id="StringEquals-doc-key-absent"),
    # "IAM JSON policy elements: Condition" (reference_policies_elements_condition.html):
    # StringEquals is case-sensitive, so a user named John does not match "john".
    pytest.param(
        {"StringEquals": {"aws:username": "john"}},
        {"aws:username": "John"},
        FALSE,
        id="StringEquals-case-sensitive",
    ),
    # Only StringLike takes wildcards ("You must specify wildcards to achieve partial string
    # matches"), so a star in StringEquals is a literal character.
    pytest.param(
        {"StringEquals": {"ec2:InstanceType": "t1.*"}},
        {"ec2:InstanceType": "t1.micro"},
        FALSE,
        id="StringEquals-star-is-literal",
    ),
    pytest.param(
        {"StringNotEquals": {"aws:username": "john"}},
        {"aws:username": "mary"},
        TRUE,
        id="StringNotEquals-other-value",
    ),
    pytest.param(
        {"StringNotEquals": {"aws:username": "john"}},
        {"aws:username": "john"},
        FALSE,
        id="StringNotEquals-same-value",
    ),
    # "Important" note at the top of the page: a negated operator is true when the key is
    # not present.
    pytest.param(
        {"StringNotEquals": {"aws:username": "john"}},
        {},
        TRUE,
        id="StringNotEquals-key-absent",
    ),
    # "Example using ForAnyValue with a string condition operator": IgnoreCase lets
    # "PreProd" match "preprod".
    pytest.param(
        {"StringEqualsIgnoreCase": {"aws:RequestTag/environment": PREPROD}},
        {"aws:RequestTag/environment": "PreProd"},
        TRUE,
        id="StringEqualsIgnoreCase-doc-mixed-case",
    ),
    pytest.param(
        {"StringEqualsIgnoreCase": {"aws:RequestTag/environment": PREPROD}},
        {"aws:RequestTag/environment": "prod"},
        FALSE,
        id="StringEqualsIgnoreCase-other-value",
    ),
    pytest.param(
        {"StringNotEqualsIgnoreCase": {"aws:RequestTag/environment": PREPROD}},
        {"aws:RequestTag/environment": "PreProd"},
        FALSE,
        id="StringNotEqualsIgnoreCase-mixed-case",
    ),
    pytest.param(
        {"StringNotEqualsIgnoreCase": {"aws:RequestTag/environment": PREPROD}},
        {"aws:RequestTag/environment": "dev"},
        TRUE,
        id="StringNotEqualsIgnoreCase-other-value",
    ),
    pytest.param(
        {"StringNotEqualsIgnoreCase": {"aws:RequestTag/environment": PREPROD}},
        {},
        TRUE,
        id="StringNotEqualsIgnoreCase-key-absent",
    ),
    # Section "...IfExists condition operators", policy THISPOLICYDOESNOTWORK: StringLike
    # matches t1.micro, and fails on resources without ec2:InstanceType.
    pytest.param(
        {"StringLike": {"ec2:InstanceType": INSTANCE_TYPES}},
        {"ec2:InstanceType": "t1.micro"},
        TRUE,
        id="StringLike-doc-star",
    ),
    pytest.param(
        {"StringLike": {"ec2:InstanceType": INSTANCE_TYPES}},
        {},
        FALSE,
        id="StringLike-doc-key-absent",
    ),
    pytest.param(
        {"StringLike": {"ec2:InstanceType": "t?.micro"}},
        {"ec2:InstanceType": "t2.micro"},
        TRUE,
        id="StringLike-question-mark-one-char",
    ),
    pytest.param(
        {"StringLike": {"ec2:InstanceType": "t?.micro"}},
        {"ec2:InstanceType": "t22.micro"},
        FALSE,
        id="StringLike-question-mark-not-two-chars",
    ),
    pytest.param(
        {"StringLike": {"ec2:InstanceType": "T1.*"}},
        {"ec2:InstanceType": "t1.micro"},
        FALSE,
        id="StringLike-case-sensitive",
    ),
    # The home-directory example lists "" so that the bucket root (an empty prefix) matches.
    pytest.param(
        {"StringLike": {"s3:prefix": ["", "home/"]}},
        {"s3:prefix": ""},
        TRUE,
        id="StringLike-empty-pattern",
    ),
    pytest.param(
        {"StringNotLike": {"ec2:InstanceType": INSTANCE_TYPES}},
        {"ec2:InstanceType": "t1.micro"},
        FALSE,
        id="StringNotLike-matching-value",
    ),
    pytest.param(
        {"StringNotLike": {"ec2:InstanceType": INSTANCE_TYPES}},
        {"ec2:InstanceType": "m2.micro"},
        TRUE,
        id="StringNotLike-other-value",
    ),
    # "Important" note: StringNotLike is true when the key is not present.
    pytest.param(
        {"StringNotLike": {"ec2:InstanceType": INSTANCE_TYPES}},
        {},
        TRUE,
        id="StringNotLike-key-absent",
    ),
]


@pytest.mark.parametrize(("block", "values", "expected"), STRING_CASES)
def test_string_operators(block: Block, values: Values, expected: Truth) -> None:
    assert truth_of(block, values) is expected


# --- Numeric operators -------------------------------------------------------------------
# "IAM JSON policy elements: Condition operators", section "Numeric condition operators".

MAX_KEYS = {"NumericLessThanEquals": {"s3:max-keys": "10"}}

NUMERIC_CASES = [
    # The s3:max-keys example: list up to 10 objects.
    pytest.param(MAX_KEYS, {"s3:max-keys": "10"}, TRUE, id="NumericLessThanEquals-doc-equal"),
    pytest.param(MAX_KEYS, {"s3:max-keys": "11"}, FALSE, id="NumericLessThanEquals-doc-above"),
    pytest.param(MAX_KEYS, {}, FALSE, id="NumericLessThanEquals-doc-key-absent"),
    # "an integer or decimal value": the JSON number 10 equals the request value "10.0".
    pytest.param(
        {"NumericEquals": {"s3:max-keys": 10}},
        {"s3:max-keys": "10.0"},
        TRUE,
        id="NumericEquals-decimal-equal",
    ),
    pytest.param(
        {"NumericEquals": {"s3:max-keys": 10}},
        {"s3:max-keys": "11"},
        FALSE,
        id="NumericEquals-other-value",
    ),
    pytest.param(
        {"NumericNotEquals": {"s3:max-keys": "10"}},
        {"s3:max-keys": "11"},
        TRUE,
        id="NumericNotEquals-other-value",
    ),
    pytest.param(
        {"NumericNotEquals": {"s3:max-keys": "10"}},
        {"s3:max-keys": "10"},
        FALSE,
        id="NumericNotEquals-same-value",
    ),
    pytest.param(
        {"NumericNotEquals": {"s3:max-keys": "10"}},
        {},
        TRUE,
        id="NumericNotEquals-key-absent",
    ),
    pytest.param(
        {"NumericLessThan": {"s3:max-keys": "10"}},
        {"s3:max-keys": "9.5"},
        TRUE,
        id="NumericLessThan-below",
    ),
    pytest.param(
        {"NumericLessThan": {"s3:max-keys": "10"}},
        {"s3:max-keys": "10"},
        FALSE,
        id="NumericLessThan-equal",
    ),
    pytest.param(
        {"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}},
        {"aws:MultiFactorAuthAge": "3601"},
        TRUE,
        id="NumericGreaterThan-above",
    ),
    pytest.param(
        {"NumericGreaterThan": {"aws:MultiFactorAuthAge": "3600"}},
        {"aws:MultiFactorAuthAge": "3600"},
        FALSE,
        id="NumericGreaterThan-equal",
    ),
    pytest.param(
        {"NumericGreaterThanEquals": {"aws:MultiFactorAuthAge": "3600"}},
        {"aws:MultiFactorAuthAge": "3600"},
        TRUE,
        id="NumericGreaterThanEquals-equal",
    ),
    pytest.param(
        {"NumericGreaterThanEquals": {"aws:MultiFactorAuthAge": "3600"}},
        {"aws:MultiFactorAuthAge": "-1"},
        FALSE,
        id="NumericGreaterThanEquals-below",
    ),
    pytest.param(
        {"NumericEquals": {"s3:max-keys": "10"}},
        {"s3:max-keys": "ten"},
        FALSE,
        id="NumericEquals-request-not-a-number",
    ),
]


@pytest.mark.parametrize(("block", "values", "expected"), NUMERIC_CASES)
def test_numeric_operators(block: Block, values: Values, expected: Truth) -> None:
    assert truth_of(block, values) is expected


# --- Date operators ----------------------------------------------------------------------
# "IAM JSON policy elements: Condition operators", section "Date condition operators":
# W3C ISO 8601 dates or epoch (UNIX) time. "AWS global condition context keys"
# (reference_policies_condition-keys.html): aws:EpochTime holds seconds since 1970-01-01.

TOKEN_ISSUED_IN_2020 = {"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}}

DATE_CASES = [
    # The aws:TokenIssueTime example: credentials issued after 2020-01-01T00:00:01Z.
    pytest.param(
        TOKEN_ISSUED_IN_2020,
        {"aws:TokenIssueTime": "2020-06-01T12:00:00Z"},
        TRUE,
        id="DateGreaterThan-doc-later",
    ),
    pytest.param(
        TOKEN_ISSUED_IN_2020,
        {"aws:TokenIssueTime": "2019-12-31T23:59:59Z"},
        FALSE,
        id="DateGreaterThan-doc-earlier",
    ),
    # "The key is not present in ... requests that are made using access keys."
    pytest.param(TOKEN_ISSUED_IN_2020, {}, FALSE, id="DateGreaterThan-doc-key-absent"),
    pytest.param(
        {"DateEquals": {"aws:EpochTime": "2020-01-01T00:00:00Z"}},
        {"aws:EpochTime": "1577836800"},
        TRUE,
        id="DateEquals-iso-policy-epoch-request",
    ),
    pytest.param(
        {"DateEquals": {"aws:CurrentTime": 1577836800}},
        {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
        TRUE,
        id="DateEquals-epoch-policy-iso-request",
    ),
    pytest.param(
        {"DateNotEquals": {"aws:CurrentTime": "2020-01-01"}},
        {"aws:CurrentTime": "2020-01-02T00:00:00Z"},
        TRUE,
        id="DateNotEquals-other-day",
    ),
    pytest.param(
        {"DateNotEquals": {"aws:CurrentTime": "2020-01-01"}},
        {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
        FALSE,
        id="DateNotEquals-date-is-midnight-utc",
    ),
    pytest.param(
        {"DateLessThan": {"aws:EpochTime": "1577836800"}},
        {"aws:EpochTime": "1577836799"},
        TRUE,
        id="DateLessThan-epoch-earlier",
    ),
    pytest.param(
        {"DateLessThan": {"aws:EpochTime": "1577836800"}},
        {"aws:EpochTime": "1577836800"},
        FALSE,
        id="DateLessThan-epoch-equal",
    ),
    pytest.param(
        {"DateLessThanEquals": {"aws:CurrentTime": "2020-01-01T01:00:00+01:00"}},
        {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
        TRUE,
        id="DateLessThanEquals-time-zone-offset",
    ),
    pytest.param(
        {"DateGreaterThanEquals": {"aws:CurrentTime": "2020-01"}},
        {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
        TRUE,
        id="DateGreaterThanEquals-year-month",
    ),
    pytest.param(
        {"DateGreaterThanEquals": {"aws:CurrentTime": "2020-01"}},
        {"aws:CurrentTime": "2019-12-31T23:59:59Z"},
        FALSE,
        id="DateGreaterThanEquals-earlier",
    ),
]


@pytest.mark.parametrize(("block", "values", "expected"), DATE_CASES)
def test_date_operators(block: Block, values: Values, expected: Truth) -> None:
    assert truth_of(block, values) is expected


# --- Bool, Binary, IP address and Null operators -----------------------------------------
# "IAM JSON policy elements: Condition operators", sections "Boolean condition operators",
# "Binary condition operators", "IP address condition operators" and "Condition operator
# to check existence of condition keys".

SECURE_TRANSPORT = {"Bool": {"aws:SecureTransport": "false"}}
BINARY = {"BinaryEquals": {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}
SOURCE_RANGE = {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
MIXED_RANGES = {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"]}}
NOT_SOURCE_RANGE = {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
NO_TEMPORARY_CREDENTIALS = {"Null": {"aws:TokenIssueTime": "true"}}
TEMPORARY_CREDENTIALS = {"Null": {"aws:TokenIssueTime": "false"}}

BOOL_BINARY_IP_NULL_CASES = [
    # Table of "Example boolean condition operator".
    pytest.param(SECURE_TRANSPORT, {"aws:SecureTransport": "false"}, TRUE, id="Bool-doc-match"),
    pytest.param(SECURE_TRANSPORT, {"aws:SecureTransport": "true"}, FALSE, id="Bool-doc-other-value"),
    pytest.param(SECURE_TRANSPORT, {}, FALSE, id="Bool-doc-key-absent"),
    pytest.param(
        {"Bool": {"aws:SecureTransport": True}},
        {"aws:SecureTransport": "true"},
        TRUE,
        id="Bool-json-boolean-policy-value",
    ),
    # Table of the BinaryEquals example.
    pytest.param(BINARY, {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}, TRUE, id="BinaryEquals-doc-match"),
    pytest.param(BINARY, {"key": "ASIAIOSFODNN7EXAMPLE"}, FALSE, id="BinaryEquals-doc-other"),
    pytest.param(BINARY, {}, FALSE, id="BinaryEquals-doc-key-absent"),
    # Table of "Example IP address condition operator".
    pytest.param(SOURCE_RANGE, {"aws:SourceIp": "203.0.113.1"}, TRUE, id="IpAddress-doc-inside"),
    pytest.param(SOURCE_RANGE, {"aws:SourceIp": "198.51.100.1"}, FALSE, id="IpAddress-doc-outside"),
    # "The aws:SourceIp key is always present ... except when the requester uses a VPC
    # endpoint ... In this case, the condition returns false."
    pytest.param(SOURCE_RANGE, {}, FALSE, id="IpAddress-doc-key-absent"),
    # The example that mixes IPv4 and IPv6 ranges.
    pytest.param(
        MIXED_RANGES,
        {"aws:SourceIp": "2001:db8:1234:5678::1"},
        TRUE,
        id="IpAddress-doc-ipv6-inside",
    ),
    pytest.param(
        MIXED_RANGES,
        {"aws:SourceIp": "2001:db8:1234:5679::1"},
        FALSE,
        id="IpAddress-doc-ipv6-outside",
    ),
    pytest.param(MIXED_RANGES, {"aws:SourceIp": "203.0.113.200"}, TRUE, id="IpAddress-doc-ipv4-in-mix"),
    pytest.param(SOURCE_RANGE, {"aws:SourceIp": "2001:db8::1"}, FALSE, id="IpAddress-ipv6-vs-ipv4-range"),
    # "If you specify an IP address without the associated routing prefix, IAM uses the
    # default prefix value of /32."
    pytest.param(
        {"IpAddress": {"aws:SourceIp": "203.0.113.7"}},
        {"aws:SourceIp": "203.0.113.7"},
        TRUE,
        id="IpAddress-bare-address-same",
    ),
    pytest.param(
        {"IpAddress": {"aws:SourceIp": "203.0.113.7"}},
        {"aws:SourceIp": "203.0.113.8"},
        FALSE,
        id="IpAddress-bare-address-is-slash-32",
    ),
    pytest.param(NOT_SOURCE_RANGE, {"aws:SourceIp": "198.51.100.1"}, TRUE, id="NotIpAddress-outside"),
    pytest.param(NOT_SOURCE_RANGE, {"aws:SourceIp": "203.0.113.1"}, FALSE, id="NotIpAddress-inside"),
    pytest.param(NOT_SOURCE_RANGE, {}, TRUE, id="NotIpAddress-key-absent"),
    # The Null examples: "true" requires the key to be absent, "false" requires it present.
    pytest.param(NO_TEMPORARY_CREDENTIALS, {}, TRUE, id="Null-true-doc-key-absent"),
    pytest.param(
        NO_TEMPORARY_CREDENTIALS,
        {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"},
        FALSE,
        id="Null-true-doc-key-present",
    ),
    pytest.param(
        TEMPORARY_CREDENTIALS,
        {"aws:TokenIssueTime": "2020-01-01T00:00:00Z"},
        TRUE,
        id="Null-false-doc-key-present",
    ),
    pytest.param(TEMPORARY_CREDENTIALS, {}, FALSE, id="Null-false-doc-key-absent"),
    pytest.param({"Null": {"aws:TokenIssueTime": True}}, {}, TRUE, id="Null-json-boolean-policy-value"),
    # Section "Multivalued ARN condition operators": a key whose values are empty strings
    # resolves to a null dataset, and Null "false" is the documented guard against it.
    pytest.param(TEMPORARY_CREDENTIALS, {"aws:TokenIssueTime": ""}, FALSE, id="Null-empty-value"),
]


@pytest.mark.parametrize(("block", "values", "expected"), BOOL_BINARY_IP_NULL_CASES)
def test_bool_binary_ip_null_operators(block: Block, values: Values, expected: Truth) -> None:
    assert truth_of(block, values) is expected


# --- ARN operators -----------------------------------------------------------------------
# "IAM JSON policy elements: Condition operators", section "Amazon Resource Name (ARN)
# condition operators": each of the six colon-delimited components is matched separately,
# and ArnEquals and ArnLike behave identically.

TOPIC_ARN = "arn:aws:sns:us-west-2:123456789012:TOPIC-ID"
FINANCE_PATTERN = "arn:aws:someservice:*:111122223333:finance/*"
FINANCE_REQUEST = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
APP_ROLES = "arn:aws:iam::*:role/app-*"

ARN_CASES = [
    # Table of "Example ARN condition operator".
    pytest.param(
        {"ArnEquals": {"aws:SourceArn": TOPIC_ARN}},
        {"aws:SourceArn": TOPIC_ARN},
        TRUE,
        id="ArnEquals-doc-match",
    ),
    pytest.param(
        {"ArnEquals": {"aws:SourceArn": TOPIC_ARN}},
        {"aws:SourceArn": "arn:aws:sns:us-west-2:777788889999:TOPIC-ID"},
        FALSE,
        id="ArnEquals-doc-other-account",
    ),
    pytest.param({"ArnEquals": {"aws:SourceArn": TOPIC_ARN}}, {}, FALSE, id="ArnEquals-doc-key-absent"),
    # The someservice example from the same section: ArnLike fails because the first star
    # matches only the Region component, while StringLike lets it run across colons.
    pytest.param(
        {"ArnLike": {"aws:SourceArn": FINANCE_PATTERN}},
        {"aws:SourceArn": FINANCE_REQUEST},
        FALSE,
        id="ArnLike-doc-star-stays-in-component",
    ),
    pytest.param(
        {"StringLike": {"aws:SourceArn": FINANCE_PATTERN}},
        {"aws:SourceArn": FINANCE_REQUEST},
        TRUE,
        id="StringLike-doc-star-crosses-colons",
    ),
    pytest.param(
        {"ArnLike": {"aws:PrincipalArn": APP_ROLES}},
        {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/app-runner"},
        TRUE,
        id="ArnLike-star-in-account",
    ),
    pytest.param(
        {"ArnEquals": {"aws:PrincipalArn": APP_ROLES}},
        {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/app-runner"},
        TRUE,
        id="ArnEquals-takes-wildcards-like-ArnLike",
    ),
    pytest.param(
        {"ArnLike": {"aws:SourceArn": "arn:aws:sns:us-west-?:123456789012:TOPIC-ID"}},
        {"aws:SourceArn": TOPIC_ARN},
        TRUE,
        id="ArnLike-question-mark",
    ),
    pytest.param(
        {"ArnLike": {"aws:SourceArn": "arn:aws:sns:us-west-2:123456789012:topic-id"}},
        {"aws:SourceArn": TOPIC_ARN},
        FALSE,
        id="ArnLike-case-sensitive",
    ),
    pytest.param(
        {"ArnLike": {"aws:SourceArn": "arn:aws:lambda:us-east-1:111122223333:function:*"}},
        {"aws:SourceArn": "arn:aws:lambda:us-east-1:111122223333:function:worker:1"},
        TRUE,
        id="ArnLike-star-in-resource-crosses-colons",
    ),
    pytest.param(
        {"ArnLike": {"aws:SourceArn": APP_ROLES}},
        {"aws:SourceArn": "not-an-arn"},
        FALSE,
        id="ArnLike-request-not-an-arn",
    ),
    pytest.param(
        {"ArnNotEquals": {"aws:SourceArn": TOPIC_ARN}},
        {"aws:SourceArn": "arn:aws:sns:us-west-2:777788889999:TOPIC-ID"},
        TRUE,
        id="ArnNotEquals-other-account",
    ),
    pytest.param(
        {"ArnNotEquals": {"aws:SourceArn": TOPIC_ARN}},
        {"aws:SourceArn": TOPIC_ARN},
        FALSE,
        id="ArnNotEquals-same-arn",
    ),
    # "Important" note at the top of the page: ArnNotLike is true when the key is absent.
    pytest.param({"ArnNotLike": {"aws:SourceArn": TOPIC_ARN}}, {}, TRUE, id="ArnNotLike-doc-key-absent"),
    pytest.param(
        {"ArnNotLike": {"aws:PrincipalArn": APP_ROLES}},
        {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/app-runner"},
        FALSE,
        id="ArnNotLike-matching-arn",
    ),
    pytest.param(
        {"ArnNotLike": {"aws:PrincipalArn": APP_ROLES}},
        {"aws:PrincipalArn": "arn:aws:iam::111122223333:user/bob"},
        TRUE,
        id="ArnNotLike-other-arn",
    ),
]


@pytest.mark.parametrize(("block", "values", "expected"), ARN_CASES)
def test_arn_operators(block: Block, values: Values, expected: Truth) -> None:
    assert truth_of(block, values) is expected


# --- ...IfExists -------------------------------------------------------------------------
# "IAM JSON policy elements: Condition operators", section "...IfExists condition
# operators": if the key is present, process it as the operator says; if it is absent, the
# condition is true.

INSTANCE_TYPES_IF_EXISTS = {"StringLikeIfExists": {"ec2:InstanceType": INSTANCE_TYPES}}
MFA_DENY = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
SOURCE_IP_OR_VPC = {
    "IpAddressIfExists": {"aws:SourceIp": ["203.0.113.0/24"]},
    "StringEqualsIfExists": {"aws:SourceVpc": ["vpc-1a2b3c4d"]},
}

IF_EXISTS_CASES = [
    # Table of "Example using IfExists".
    pytest.param(
        INSTANCE_TYPES_IF_EXISTS,
        {"ec2:InstanceType": "t1.micro"},
        TRUE,
        id="StringLikeIfExists-doc-match",
    ),
    pytest.param(
        INSTANCE_TYPES_IF_EXISTS,
        {"ec2:InstanceType": "m2.micro"},
        FALSE,
        id="StringLikeIfExists-doc-other-value",
    ),
    pytest.param(INSTANCE_TYPES_IF_EXISTS, {}, TRUE, id="StringLikeIfExists-doc-key-absent"),
    # "AWS global condition context keys", aws:MultiFactorAuthPresent: Deny with
    # BoolIfExists "false" also denies long-term credentials, where the key is absent.
    pytest.param(MFA_DENY, {}, TRUE, id="BoolIfExists-doc-long-term-credentials"),
    pytest.param(
        MFA_DENY,
        {"aws:MultiFactorAuthPresent": "false"},
        TRUE,
        id="BoolIfExists-doc-no-mfa",
    ),
    pytest.param(
        MFA_DENY,
        {"aws:MultiFactorAuthPresent": "true"},
        FALSE,
        id="BoolIfExists-doc-mfa",
    ),
    # "AWS global condition context keys", note at the top: with both keys absent the
    # IfExists block is still true.
    pytest.param(SOURCE_IP_OR_VPC, {}, TRUE, id="IpAddressIfExists-doc-both-keys-absent"),
    pytest.param(
        SOURCE_IP_OR_VPC,
        {"aws:SourceIp": "198.51.100.1"},
        FALSE,
        id="IpAddressIfExists-doc-present-outside",
    ),
    # "If you are using an "Effect": "Deny" element with a negated condition operator like
    # StringNotEqualsIfExists, the request is still denied even if the condition key is not
    # present."
    pytest.param(
        {"StringNotEqualsIfExists": {"aws:PrincipalTag/team": "blue"}},
        {},
        TRUE,
        id="StringNotEqualsIfExists-doc-key-absent",
    ),
    pytest.param(
        {"StringNotEqualsIfExists": {"aws:PrincipalTag/team": "blue"}},
        {"aws:PrincipalTag/team": "blue"},
        FALSE,
        id="StringNotEqualsIfExists-same-value",
    ),
    pytest.param(
        {"NumericLessThanIfExists": {"s3:max-keys": "10"}},
        {"s3:max-keys": "5"},
        TRUE,
        id="NumericLessThanIfExists-present-below",
    ),
    pytest.param(
        {"NumericLessThanIfExists": {"s3:max-keys": "10"}},
        {"s3:max-keys": "20"},
        FALSE,
        id="NumericLessThanIfExists-present-above",
    ),
    pytest.param(
        {"NumericLessThanIfExists": {"s3:max-keys": "10"}},
        {},
        TRUE,
        id="NumericLessThanIfExists-key-absent",
    ),
    pytest.param(
        {"DateGreaterThanIfExists": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}},
        {},
        TRUE,
        id="DateGreaterThanIfExists-key-absent",
    ),
    pytest.param(
        {"DateGreaterThanIfExists": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}},
        {"aws:TokenIssueTime": "2019-01-01T00:00:00Z"},
        FALSE,
        id="DateGreaterThanIfExists-present-earlier",
    ),
    pytest.param({"ArnLikeIfExists": {"aws:SourceArn": TOPIC_ARN}}, {}, TRUE, id="ArnLikeIfExists-absent"),
    pytest.param(
        {"ArnLikeIfExists": {"aws:SourceArn": TOPIC_ARN}},
        {"aws:SourceArn": "arn:aws:sns:us-west-2:777788889999:TOPIC-ID"},
        FALSE,
        id="ArnLikeIfExists-present-other",
    ),
    pytest.param(
        {"BinaryEqualsIfExists": {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}},
        {},
        TRUE,
        id="BinaryEqualsIfExists-key-absent",
    ),
    pytest.param(
        {"NotIpAddressIfExists": {"aws:SourceIp": "203.0.113.0/24"}},
        {"aws:SourceIp": "203.0.113.1"},
        FALSE,
        id="NotIpAddressIfExists-present-inside",
    ),
]


@pytest.mark.parametrize(("block", "values", "expected"), IF_EXISTS_CASES)
def test_if_exists_operators(block: Block, values: Values, expected: Truth) -> None:
    assert truth_of(block, values) is expected


# --- ForAnyValue and ForAllValues --------------------------------------------------------
# "Single-valued vs. multivalued context keys"
# (reference_policies_condition-single-vs-multi-valued-context-keys.html), and the
# multivalued sections of "IAM JSON policy elements: Condition operators".

TAG_KEYS = ["environment", "cost-center"]
FOR_ALL_TAG_KEYS_WITH_NULL = {
    "ForAllValues:StringEquals": {"aws:TagKeys": TAG_KEYS},
    "Null": {"aws:TagKeys": "false"},
}
FOR_ALL_TAG_KEYS = {"ForAllValues:StringEquals": {"aws:TagKeys": TAG_KEYS}}
FOR_ANY_TAG_KEYS = {"ForAnyValue:StringEquals": {"aws:TagKeys": TAG_KEYS}}
TAG_AND_KEYS = {
    "StringEqualsIgnoreCase": {"aws:RequestTag/environment": PREPROD},
    "ForAnyValue:StringEquals": {"aws:TagKeys": "environment"},
}
ORG_PATHS = {
    "ForAllValues:StringNotLike": {
        "aws:ResourceOrgPaths": [
            "o-acorg/r-acroot/ou-acroot-mediaou/",
            "o-acorg/r-acroot/ou-acroot-sportsou/*",
        ]
    }
}
LOG_SOURCES = {
    "ForAllValues:ArnLike": {
        "logs:LogGeneratingResourceArns": [
            "arn:aws::cloudfront:123456789012:distribution/*",
            "arn:aws::cloudfront:123456789012:distribution/support*",
        ]
    }
}
DISTRIBUTION = "arn:aws::cloudfront:123456789012:distribution/"

SET_OPERATOR_CASES = [
    # Table of the ForAllValues example, with its Null "false" guard.
    pytest.param(
        FOR_ALL_TAG_KEYS_WITH_NULL,
        {"aws:TagKeys": ["environment"]},
        TRUE,
        id="ForAllValues-doc-one-listed-key",
    ),
    pytest.param(
        FOR_ALL_TAG_KEYS_WITH_NULL,
        {"aws:TagKeys": ["cost-center"]},
        TRUE,
        id="ForAllValues-doc-other-listed-key",
    ),
    pytest.param(
        FOR_ALL_TAG_KEYS_WITH_NULL,
        {"aws:TagKeys": ["environment", "cost-center"]},
        TRUE,
        id="ForAllValues-doc-both-listed-keys",
    ),
    pytest.param(
        FOR_ALL_TAG_KEYS_WITH_NULL,
        {"aws:TagKeys": ["environment", "dept"]},
        FALSE,
        id="ForAllValues-doc-unlisted-key",
    ),
    pytest.param(FOR_ALL_TAG_KEYS_WITH_NULL, {}, FALSE, id="ForAllValues-doc-null-guard"),
    # "It also returns true if there are no context keys in the request."
    pytest.param(FOR_ALL_TAG_KEYS, {}, TRUE, id="ForAllValues-doc-key-absent"),
    pytest.param(FOR_ALL_TAG_KEYS, {"aws:TagKeys": []}, TRUE, id="ForAllValues-empty-set"),
    # Section "Multivalued ARN condition operators": ForAllValues is true when the value
    # "resolves to a null dataset, such as an empty string".
    pytest.param(FOR_ALL_TAG_KEYS, {"aws:TagKeys": [""]}, TRUE, id="ForAllValues-empty-string"),
    # Table of the ForAnyValue example.
    pytest.param(FOR_ANY_TAG_KEYS, {"aws:TagKeys": ["environment"]}, TRUE, id="ForAnyValue-doc-one-key"),
    pytest.param(
        FOR_ANY_TAG_KEYS,
        {"aws:TagKeys": ["cost-center"]},
        TRUE,
        id="ForAnyValue-doc-other-key",
    ),
    pytest.param(
        FOR_ANY_TAG_KEYS,
        {"aws:TagKeys": ["environment", "cost-center"]},
        TRUE,
        id="ForAnyValue-doc-both-keys",
    ),
    pytest.param(
        FOR_ANY_TAG_KEYS,
        {"aws:TagKeys": ["environment", "dept"]},
        TRUE,
        id="ForAnyValue-doc-extra-key",
    ),
    pytest.param(FOR_ANY_TAG_KEYS, {"aws:TagKeys": ["dept"]}, FALSE, id="ForAnyValue-doc-no-match"),
    # "For no matching context key or if the key does not exist, the condition returns false."
    pytest.param(FOR_ANY_TAG_KEYS, {}, FALSE, id="ForAnyValue-doc-key-absent"),
    pytest.param(FOR_ANY_TAG_KEYS, {"aws:TagKeys": []}, FALSE, id="ForAnyValue-empty-set"),
    # Condition operators page, table of "Example using ForAnyValue with a string condition
    # operator".
    pytest.param(
        TAG_AND_KEYS,
        {"aws:TagKeys": ["environment"], "aws:RequestTag/environment": "preprod"},
        TRUE,
        id="ForAnyValue-doc-tag-and-key",
    ),
    pytest.param(
        TAG_AND_KEYS,
        {"aws:TagKeys": ["environment", "costcenter"], "aws:RequestTag/environment": "PreProd"},
        TRUE,
        id="ForAnyValue-doc-extra-key-mixed-case-value",
    ),
    pytest.param(
        TAG_AND_KEYS,
        {"aws:TagKeys": ["Environment"], "aws:RequestTag/Environment": "preprod"},
        FALSE,
        id="ForAnyValue-doc-tag-key-wrong-case",
    ),
    pytest.param(
        TAG_AND_KEYS,
        {"aws:TagKeys": ["costcenter"], "aws:RequestTag/environment": "preprod"},
        FALSE,
        id="ForAnyValue-doc-key-not-listed",
    ),
    pytest.param(
        TAG_AND_KEYS,
        {"aws:RequestTag/environment": "storage"},
        FALSE,
        id="ForAnyValue-doc-no-tag-keys",
    ),
    pytest.param(TAG_AND_KEYS, {"aws:TagKeys": ["environment"]}, FALSE, id="ForAnyValue-doc-no-tag"),
    pytest.param(TAG_AND_KEYS, {}, FALSE, id="ForAnyValue-doc-neither-key"),
    # Condition operators page, section "Wildcard matching". The policy is a Deny, and the
    # table's Result column reports whether access survives it, so the condition is the
    # opposite of that column.
    pytest.param(
        ORG_PATHS,
        {"aws:ResourceOrgPaths": ["o-acorg/r-acroot/ou-acroot-sportsou/costcenter/"]},
        FALSE,
        id="ForAllValues-StringNotLike-doc-inside-boundary",
    ),
    pytest.param(
        ORG_PATHS,
        {"aws:ResourceOrgPaths": ["o-acorg/r-acroot/ou-acroot-mediaou/costcenter/"]},
        TRUE,
        id="ForAllValues-StringNotLike-doc-outside-boundary",
    ),
    pytest.param(ORG_PATHS, {}, TRUE, id="ForAllValues-StringNotLike-doc-key-absent"),
    # Condition operators page, table of "Example using ForAllValues with an ARN condition
    # operator".
    pytest.param(
        LOG_SOURCES,
        {"logs:LogGeneratingResourceArns": [DISTRIBUTION + "costcenter"]},
        TRUE,
        id="ForAllValues-ArnLike-doc-one-arn",
    ),
    pytest.param(
        LOG_SOURCES,
        {
            "logs:LogGeneratingResourceArns": [
                DISTRIBUTION + "costcenter",
                DISTRIBUTION + "support2025",
            ]
        },
        TRUE,
        id="ForAllValues-ArnLike-doc-two-arns",
    ),
    # The page's table reports "No match" for this row, but its own rule ("All of the ARNs
    # in the request context must match at least one of the ARN patterns") gives a match,
    # because the pattern distribution/* covers distribution/admin. The rule wins here.
    pytest.param(
        LOG_SOURCES,
        {"logs:LogGeneratingResourceArns": [DISTRIBUTION + "costcenter", DISTRIBUTION + "admin"]},
        TRUE,
        id="ForAllValues-ArnLike-star-covers-admin",
    ),
    pytest.param(
        LOG_SOURCES,
        {"logs:LogGeneratingResourceArns": ["arn:aws::cloudfront:777788889999:distribution/x"]},
        FALSE,
        id="ForAllValues-ArnLike-doc-other-account",
    ),
    pytest.param(LOG_SOURCES, {}, TRUE, id="ForAllValues-ArnLike-doc-key-absent"),
    # Condition operators page, table of "Multivalued string condition operators".
    pytest.param(
        {"ForAllValues:StringNotEquals": {"aws:TagKeys": ["a", "b"]}},
        {"aws:TagKeys": ["c", "d"]},
        TRUE,
        id="ForAllValues-StringNotEquals-none-listed",
    ),
    pytest.param(
        {"ForAllValues:StringNotEquals": {"aws:TagKeys": ["a", "b"]}},
        {"aws:TagKeys": ["c", "a"]},
        FALSE,
        id="ForAllValues-StringNotEquals-one-listed",
    ),
    pytest.param(
        {"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["a", "b"]}},
        {"aws:TagKeys": ["a", "c"]},
        TRUE,
        id="ForAnyValue-StringNotEquals-one-unlisted",
    ),
    pytest.param(
        {"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["a", "b"]}},
        {"aws:TagKeys": ["a", "b"]},
        FALSE,
        id="ForAnyValue-StringNotEquals-all-listed",
    ),
    pytest.param(
        {"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["a", "b"]}},
        {},
        FALSE,
        id="ForAnyValue-StringNotEquals-key-absent",
    ),
    # Condition operators page, section "Boolean condition operators".
    pytest.param(
        {"ForAllValues:Bool": {"service:Flags": "true"}},
        {"service:Flags": ["true", "true"]},
        TRUE,
        id="ForAllValues-Bool-all-true",
    ),
    pytest.param(
        {"ForAllValues:Bool": {"service:Flags": "true"}},
        {"service:Flags": ["true", "false"]},
        FALSE,
        id="ForAllValues-Bool-one-false",
    ),
    pytest.param(
        {"ForAnyValue:Bool": {"service:Flags": "true"}},
        {"service:Flags": ["false", "true"]},
        TRUE,
        id="ForAnyValue-Bool-one-true",
    ),
    pytest.param(
        {"ForAnyValue:StringLikeIfExists": {"aws:TagKeys": "env*"}},
        {},
        TRUE,
        id="ForAnyValue-IfExists-key-absent",
    ),
]


@pytest.mark.parametrize(("block", "values", "expected"), SET_OPERATOR_CASES)
def test_set_operators(block: Block, values: Values, expected: Truth) -> None:
    assert truth_of(block, values) is expected


# --- Multiple keys and values ------------------------------------------------------------
# "Conditions with multiple context keys or values"
# (reference_policies_condition-logic-multiple-context-keys-or-values.html): operators and
# keys are AND'ed, values of one key are OR'ed, and values of a negated operator are NOR'ed.

PRINCIPAL_TAGS = {
    "aws:PrincipalTag/department": ["finance", "hr", "legal"],
    "aws:PrincipalTag/role": ["audit", "security"],
}
ANA_AND_MARY = ["arn:aws:iam::222222222222:user/Ana", "arn:aws:iam::222222222222:user/Mary"]
TAGS_AND_ARN = {"StringEquals": PRINCIPAL_TAGS, "ArnLike": {"aws:PrincipalArn": ANA_AND_MARY}}
TAGS_AND_NOT_ARN = {
    "StringEquals": PRINCIPAL_TAGS,
    "ArnNotLike": {"aws:PrincipalArn": ANA_AND_MARY},
}
MARY = "arn:aws:iam::222222222222:user/Mary"
NIKKI = "arn:aws:iam::222222222222:user/Nikki"


def principal(department: str | None, role: str | None, arn: str) -> Values:
    values: Values = {"aws:PrincipalArn": arn}
    if department is not None:
        values["aws:PrincipalTag/department"] = department
    if role is not None:
        values["aws:PrincipalTag/role"] = role
    return values


MULTIPLE_KEYS_CASES = [
    # Table of "Evaluation logic for multiple context keys or values".
    pytest.param(TAGS_AND_ARN, principal("legal", "audit", MARY), TRUE, id="AND-doc-match"),
    pytest.param(TAGS_AND_ARN, principal("hr", "audit", NIKKI), FALSE, id="AND-doc-arn-fails"),
    pytest.param(TAGS_AND_ARN, principal("hr", "payroll", MARY), FALSE, id="AND-doc-role-fails"),
    pytest.param(TAGS_AND_ARN, principal("hr", None, MARY), FALSE, id="AND-doc-role-absent"),
    pytest.param(TAGS_AND_ARN, principal(None, None, MARY), FALSE, id="AND-doc-tags-absent"),
    # Table of "Evaluation logic for negated matching condition operators".
    pytest.param(TAGS_AND_NOT_ARN, principal("legal", "audit", NIKKI), TRUE, id="NOR-doc-match"),
    pytest.param(TAGS_AND_NOT_ARN, principal("hr", "audit", MARY), FALSE, id="NOR-doc-listed-arn"),
    pytest.param(TAGS_AND_NOT_ARN, principal("hr", "payroll", NIKKI), FALSE, id="NOR-doc-role-fails"),
    pytest.param(TAGS_AND_NOT_ARN, principal("hr", None, NIKKI), FALSE, id="NOR-doc-role-absent"),
    pytest.param(TAGS_AND_NOT_ARN, principal(None, None, NIKKI), FALSE, id="NOR-doc-tags-absent"),
    pytest.param(
        {"StringEquals": {"aws:username": ["ana", "mary"]}},
        {"aws:username": "mary"},
        TRUE,
        id="values-OR-second-matches",
    ),
    pytest.param(
        {"StringNotEquals": {"aws:username": ["ana", "mary"]}},
        {"aws:username": "mary"},
        FALSE,
        id="negated-values-NOR-one-matches",
    ),
    pytest.param(
        {"StringNotEquals": {"aws:username": ["ana", "mary"]}},
        {"aws:username": "nikki"},
        TRUE,
        id="negated-values-NOR-none-matches",
    ),
]


@pytest.mark.parametrize(("block", "values", "expected"), MULTIPLE_KEYS_CASES)
def test_multiple_keys_and_values(block: Block, values: Values, expected: Truth) -> None:
    assert truth_of(block, values) is expected


def test_empty_block_is_true() -> None:
    assert truth_of({}, {}) is TRUE


# --- Case of key names -------------------------------------------------------------------

KEY_CASE_CASES = [
    # "IAM JSON policy elements: Condition": aws:SourceIP is equivalent to AWS:SourceIp.
    pytest.param(
        {"IpAddress": {"AWS:SourceIp": "203.0.113.0/24"}},
        {"aws:SourceIP": "203.0.113.1"},
        TRUE,
        id="key-name-case-insensitive",
    ),
    # "AWS global condition context keys", aws:RequestTag/tag-key: "TagKey1" in the policy
    # matches a request tag key named "TagKey1" or "tagkey1".
    pytest.param(
        {"StringEquals": {"aws:RequestTag/TagKey1": "Value1"}},
        {"aws:RequestTag/tagkey1": "Value1"},
        TRUE,
        id="tag-key-case-insensitive",
    ),
    # Condition operators page: StringEquals is "Exact matching, case sensitive", which
    # governs the tag value even though the tag key ignores case.
    pytest.param(
        {"StringEquals": {"aws:RequestTag/TagKey1": "Value1"}},
        {"aws:RequestTag/TagKey1": "value1"},
        FALSE,
        id="tag-value-case-sensitive-with-StringEquals",
    ),
]


@pytest.mark.parametrize(("block", "values", "expected"), KEY_CASE_CASES)
def test_key_name_case(block: Block, values: Values, expected: Truth) -> None:
    assert truth_of(block, values) is expected


# --- Policy variables in conditions ------------------------------------------------------
# "IAM policy elements: Variables and tags" (reference_policies_variables.html), and the
# policy variable example of the String section of the condition operators page.

HOME_DIRECTORY = {"StringLike": {"s3:prefix": ["home/", "home/${aws:username}/"]}}
OBJECT_OWNER = {"StringEquals": {"s3:ExistingObjectTag/owner": "${aws:PrincipalTag/owner}"}}
TEAM_DENY = {"StringNotEquals": {"s3:ExistingObjectTag/Team": "${aws:PrincipalTag/Team}"}}
ACCOUNT_ROLES = {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::${aws:PrincipalAccount}:role/*"}}

VARIABLE_CASES = [
    # Table of "Example using a policy variable with a string condition operator".
    pytest.param(
        HOME_DIRECTORY,
        {"aws:username": "martha_rivera", "s3:prefix": "home/martha_rivera/"},
        TRUE,
        id="variable-doc-own-home",
    ),
    pytest.param(
        HOME_DIRECTORY,
        {"aws:username": "nikki_wolf", "s3:prefix": "home/martha_rivera/"},
        FALSE,
        id="variable-doc-other-home",
    ),
    pytest.param(
        HOME_DIRECTORY,
        {"s3:prefix": "home/martha_rivera/"},
        FALSE,
        id="variable-doc-no-username",
    ),
    pytest.param(
        HOME_DIRECTORY,
        {"s3:prefix": "home/"},
        TRUE,
        id="variable-missing-other-value-still-matches",
    ),
    # Section "Using variables in policies", AllowUnlessOwnedBySomeoneElse.
    pytest.param(
        OBJECT_OWNER,
        {"s3:ExistingObjectTag/owner": "ana", "aws:PrincipalTag/owner": "ana"},
        TRUE,
        id="variable-doc-owner-matches",
    ),
    pytest.param(
        OBJECT_OWNER,
        {"s3:ExistingObjectTag/owner": "ana", "aws:PrincipalTag/owner": "mary"},
        FALSE,
        id="variable-doc-owner-differs",
    ),
    # Section "Policy variables with no value": StringEquals does not match a variable with
    # no value, and StringNotEquals does.
    pytest.param(
        OBJECT_OWNER,
        {"s3:ExistingObjectTag/owner": "ana"},
        FALSE,
        id="variable-doc-no-value-StringEquals",
    ),
    pytest.param(
        TEAM_DENY,
        {"s3:ExistingObjectTag/Team": "blue"},
        TRUE,
        id="variable-doc-no-value-StringNotEquals",
    ),
    pytest.param(
        TEAM_DENY,
        {"s3:ExistingObjectTag/Team": "blue", "aws:PrincipalTag/Team": "blue"},
        FALSE,
        id="variable-StringNotEquals-same-team",
    ),
    # Section "Specifying default values".
    pytest.param(
        {"StringEquals": {"s3:prefix": "${aws:PrincipalTag/team, 'company-wide'}"}},
        {"s3:prefix": "company-wide"},
        TRUE,
        id="variable-doc-default-value",
    ),
    # Section "Special characters": ${*} and ${?} stand for the literal characters.
    pytest.param(
        {"StringLike": {"s3:prefix": "report-${*}"}},
        {"s3:prefix": "report-*"},
        TRUE,
        id="variable-doc-literal-star",
    ),
    pytest.param(
        {"StringLike": {"s3:prefix": "report-${*}"}},
        {"s3:prefix": "report-1"},
        FALSE,
        id="variable-doc-literal-star-not-wildcard",
    ),
    pytest.param(
        {"StringLike": {"s3:prefix": "what${?}"}},
        {"s3:prefix": "whats"},
        FALSE,
        id="variable-doc-literal-question-mark",
    ),
    pytest.param(
        {"StringEquals": {"s3:prefix": "price-${$}"}},
        {"s3:prefix": "price-$"},
        TRUE,
        id="variable-doc-literal-dollar",
    ),
    # Section "Using variables in policies": "Key names are case-insensitive."
    pytest.param(
        {"StringEquals": {"s3:prefix": "${AWS:UserName}"}},
        {"aws:username": "ana", "s3:prefix": "ana"},
        TRUE,
        id="variable-key-case-insensitive",
    ),
    # "You can't use a multivalued condition key as a variable."
    pytest.param(
        {"StringEquals": {"s3:prefix": "${aws:TagKeys}"}},
        {"aws:TagKeys": ["a", "b"], "s3:prefix": "a"},
        FALSE,
        id="variable-doc-multivalued-key-has-no-value",
    ),
    # Condition operators page: ARN operators support policy variables.
    pytest.param(
        ACCOUNT_ROLES,
        {
            "aws:PrincipalAccount": "111122223333",
            "aws:PrincipalArn": "arn:aws:iam::111122223333:role/app",
        },
        TRUE,
        id="variable-ArnLike-own-account",
    ),
    pytest.param(
        ACCOUNT_ROLES,
        {
            "aws:PrincipalAccount": "111122223333",
            "aws:PrincipalArn": "arn:aws:iam::444455556666:role/app",
        },
        FALSE,
        id="variable-ArnLike-other-account",
    ),
    # Condition operators page, section "Boolean condition operators": policy variables are
    # supported.
    pytest.param(
        {"Bool": {"aws:SecureTransport": "${aws:PrincipalTag/needs-tls}"}},
        {"aws:SecureTransport": "true", "aws:PrincipalTag/needs-tls": "true"},
        TRUE,
        id="variable-Bool",
    ),
]


@pytest.mark.parametrize(("block", "values", "expected"), VARIABLE_CASES)
def test_variables_in_conditions(block: Block, values: Values, expected: Truth) -> None:
    assert truth_of(block, values) is expected


# --- substitute_variables ----------------------------------------------------------------
# "IAM policy elements: Variables and tags".

TEAM_BUCKET = "arn:aws:s3:::amzn-s3-demo-bucket-${aws:PrincipalTag/team, 'company-wide'}"
PROJECT_TOPICS = (
    "arn:aws:sns:*:*:${aws:PrincipalTag/access-project}-${aws:PrincipalTag/access-application}"
    "-${aws:PrincipalTag/access-environment}-*"
)

SUBSTITUTION_CASES = [
    # Section "Specifying default values": the team bucket, with and without a team tag.
    pytest.param(
        TEAM_BUCKET,
        {"aws:PrincipalTag/team": "yellow"},
        "arn:aws:s3:::amzn-s3-demo-bucket-yellow",
        id="doc-default-not-used",
    ),
    pytest.param(TEAM_BUCKET, {}, "arn:aws:s3:::amzn-s3-demo-bucket-company-wide", id="doc-default-used"),
    # Section "Using variables in policies", AllowOnlyDeptS3Prefix.
    pytest.param(
        "arn:aws:s3:::amzn-s3-demo-bucket/${aws:PrincipalTag/dept}/*",
        {"aws:PrincipalTag/dept": "product"},
        "arn:aws:s3:::amzn-s3-demo-bucket/product/*",
        id="doc-principal-tag-in-resource",
    ),
    # Section "Resource element", AllowAccessBasedOnArnMatching.
    pytest.param(
        PROJECT_TOPICS,
        {
            "aws:PrincipalTag/access-project": "atlas",
            "aws:PrincipalTag/access-application": "api",
            "aws:PrincipalTag/access-environment": "prod",
        },
        "arn:aws:sns:*:*:atlas-api-prod-*",
        id="doc-three-tags-in-resource",
    ),
    # Section "Policy variables with no value": a Resource with such a variable matches no
    # resource, which `text=None` stands for.
    pytest.param("arn:aws:iam::111122223333:user/${aws:username}", {}, None, id="doc-no-value"),
    pytest.param("${aws:userid, 'anonymous'}", {}, "anonymous", id="default-for-anonymous"),
    pytest.param("${aws:username, ''}", {}, "", id="empty-default"),
    pytest.param("${*}${?}${$}", {}, "*?$", id="doc-special-characters"),
    pytest.param("plain text", {}, "plain text", id="no-variables"),
    pytest.param("${aws:username", {}, "${aws:username", id="unterminated-stays-literal"),
]


@pytest.mark.parametrize(("text", "values", "expected"), SUBSTITUTION_CASES)
def test_substitute_variables_text(text: str, values: Values, expected: str | None) -> None:
    assert substitute_variables(text, RequestContext.build(values)).text == expected


def test_substitute_variables_lists_consulted_keys() -> None:
    result = substitute_variables(TEAM_BUCKET + "/${*}", RequestContext.build({}))
    assert result.consulted_keys == frozenset({"aws:PrincipalTag/team"})


def test_substitute_variables_marks_unknowable() -> None:
    context = RequestContext.build({}, unknowable=["aws:username"])
    assert substitute_variables("home/${aws:username}", context).unknowable


def test_substitute_variables_missing_value_beats_unknowable() -> None:
    context = RequestContext.build({}, unknowable=["aws:userid"])
    result = substitute_variables("${aws:userid}/${aws:username}", context)
    assert result.unknowable is False


def test_substitute_variables_marks_inserted_text_literal() -> None:
    result = substitute_variables("a-${aws:username}-${*}", RequestContext.build({"aws:username": "bo"}))
    assert result.literal_spans == ((2, 4), (5, 6))


def test_wildcard_match_treats_star_variable_literally() -> None:
    pattern = substitute_variables("report-${*}", RequestContext.build({}))
    assert not wildcard_match(pattern, "report-1")


def test_wildcard_match_expands_policy_star() -> None:
    pattern = substitute_variables("home/${aws:username}/*", RequestContext.build({"aws:username": "bo"}))
    assert wildcard_match(pattern, "home/bo/notes.txt")


# --- Unknowable keys ---------------------------------------------------------------------
# deputygraph's own three-valued extension. AWS always knows the request, so no AWS page
# covers these cases. The rules: a clause on an unknowable key is UNKNOWN; the block is the
# AND of its clauses, where FALSE wins over UNKNOWN and UNKNOWN over TRUE.

UNKNOWABLE_CASES = [
    pytest.param(SOURCE_RANGE, {}, {"unknowable": ["aws:SourceIp"]}, UNKNOWN, id="unknowable-key"),
    pytest.param(
        SOURCE_RANGE,
        {},
        {"unknowable": ["AWS:SOURCEIP"]},
        UNKNOWN,
        id="unknowable-key-any-case",
    ),
    pytest.param(
        {**SOURCE_RANGE, "StringEquals": {"aws:username": "ana"}},
        {"aws:username": "mary"},
        {"unknowable": ["aws:SourceIp"]},
        FALSE,
        id="false-clause-beats-unknown",
    ),
    pytest.param(
        {**SOURCE_RANGE, "StringEquals": {"aws:username": "ana"}},
        {"aws:username": "ana"},
        {"unknowable": ["aws:SourceIp"]},
        UNKNOWN,
        id="unknown-clause-with-true-clause",
    ),
    pytest.param(MFA_DENY, {}, {"missing_is_unknowable": True}, UNKNOWN, id="graph-mode-missing-key"),
    pytest.param(
        MFA_DENY,
        {},
        {"missing_is_unknowable": True, "known_absent": ["aws:MultiFactorAuthPresent"]},
        TRUE,
        id="graph-mode-known-absent-key",
    ),
    pytest.param(
        NO_TEMPORARY_CREDENTIALS,
        {},
        {"unknowable": ["aws:TokenIssueTime"]},
        UNKNOWN,
        id="Null-on-unknowable-key",
    ),
    pytest.param(
        {"Null": {"aws:TokenIssueTime": ["true", "false"]}},
        {},
        {"unknowable": ["aws:TokenIssueTime"]},
        TRUE,
        id="Null-both-values-is-always-true",
    ),
    pytest.param(
        OBJECT_OWNER,
        {"s3:ExistingObjectTag/owner": "ana"},
        {"unknowable": ["aws:PrincipalTag/owner"]},
        UNKNOWN,
        id="unknowable-variable-key",
    ),
    pytest.param(
        {"StringEquals": {"s3:prefix": ["${aws:username}", "shared"]}},
        {"s3:prefix": "shared"},
        {"unknowable": ["aws:username"]},
        TRUE,
        id="unknowable-variable-other-value-matches",
    ),
    pytest.param(
        {"StringEquals": {"s3:prefix": "${aws:username}"}},
        {},
        {"unknowable": ["aws:username"]},
        FALSE,
        id="unknowable-variable-key-absent-decides",
    ),
]


@pytest.mark.parametrize(("block", "values", "options", "expected"), UNKNOWABLE_CASES)
def test_unknowable_keys(block: Block, values: Values, options: dict[str, Any], expected: Truth) -> None:
    assert truth_of(block, values, **options) is expected


def test_unknown_clause_is_listed_as_unresolved() -> None:
    block = {**SOURCE_RANGE, "StringEquals": {"aws:username": "ana"}}
    context = RequestContext.build({"aws:username": "ana"}, unknowable=["aws:SourceIp"])
    outcome = evaluate_conditions(block, context)
    assert outcome.unresolved == (ConditionClause("IpAddress", "aws:SourceIp", ("203.0.113.0/24",)),)


def test_decided_block_has_no_unresolved_clauses() -> None:
    outcome = evaluate_conditions(JOB_CATEGORY, RequestContext.build({}))
    assert outcome.unresolved == ()


# --- Consulted and missing keys ----------------------------------------------------------


def test_consulted_keys_include_variable_keys() -> None:
    outcome = evaluate_conditions(OBJECT_OWNER, RequestContext.build({}))
    assert outcome.consulted_keys == frozenset({"s3:ExistingObjectTag/owner", "aws:PrincipalTag/owner"})


def test_missing_keys_list_absent_keys() -> None:
    context = RequestContext.build({"s3:ExistingObjectTag/owner": "ana"})
    outcome = evaluate_conditions(OBJECT_OWNER, context)
    assert outcome.missing_keys == frozenset({"aws:PrincipalTag/owner"})


def test_missing_keys_exclude_unknowable_keys() -> None:
    context = RequestContext.build({}, unknowable=["aws:SourceIp"])
    outcome = evaluate_conditions(SOURCE_RANGE, context)
    assert outcome.missing_keys == frozenset()


def test_missing_keys_exclude_keys_given_empty() -> None:
    outcome = evaluate_conditions(FOR_ALL_TAG_KEYS, RequestContext.build({"aws:TagKeys": []}))
    assert outcome.missing_keys == frozenset()


# --- Invalid operators and values --------------------------------------------------------

UNKNOWN_OPERATORS = [
    pytest.param("StringEqualz", id="misspelt"),
    pytest.param("stringequals", id="wrong-case"),
    pytest.param("ForSomeValues:StringEquals", id="unknown-set-operator"),
    pytest.param("BinaryNotEquals", id="undocumented-negation"),
    pytest.param("IfExists", id="suffix-alone"),
    # Condition operators page: IfExists goes on "any condition operator name except the
    # Null condition".
    pytest.param("NullIfExists", id="Null-with-IfExists"),
    pytest.param("ForAnyValue:Null", id="Null-with-set-operator"),
]


@pytest.mark.parametrize("operator", UNKNOWN_OPERATORS)
def test_unknown_operator_raises_policy_error(operator: str) -> None:
    with pytest.raises(PolicyError, match=operator):
        evaluate_conditions({operator: {"aws:username": "ana"}}, RequestContext.build({}))


def test_unknown_operator_without_keys_raises_policy_error() -> None:
    with pytest.raises(PolicyError, match="StringEqualz"):
        evaluate_conditions({"StringEqualz": {}}, RequestContext.build({}))


INVALID_BLOCKS = [
    pytest.param({"NumericEquals": {"s3:max-keys": "ten"}}, id="Numeric-not-a-number"),
    # Condition operators page: Numeric operators do not support policy variables.
    pytest.param({"NumericEquals": {"s3:max-keys": "${aws:username}"}}, id="Numeric-variable"),
    pytest.param({"DateEquals": {"aws:CurrentTime": "yesterday"}}, id="Date-not-a-date"),
    pytest.param({"IpAddress": {"aws:SourceIp": "300.1.1.1"}}, id="IpAddress-not-an-address"),
    pytest.param({"BinaryEquals": {"key": "not base64!"}}, id="Binary-not-base64"),
    pytest.param({"Bool": {"aws:SecureTransport": "yes"}}, id="Bool-not-a-boolean"),
    pytest.param({"Null": {"aws:TokenIssueTime": "maybe"}}, id="Null-not-a-boolean"),
    pytest.param({"StringEquals": {"aws:username": {"nested": 1}}}, id="value-is-object"),
    pytest.param({"StringEquals": "aws:username"}, id="operator-without-key-object"),
]


@pytest.mark.parametrize("block", INVALID_BLOCKS)
def test_invalid_block_raises_policy_error(block: Block) -> None:
    with pytest.raises(PolicyError):
        evaluate_conditions(block, RequestContext.build({"s3:max-keys": "1"}))


# --- RequestContext ----------------------------------------------------------------------


def test_build_turns_string_into_one_tuple() -> None:
    context = RequestContext.build({"aws:username": "ana"})
    assert context.values == {"aws:username": ("ana",)}


def test_keys_differing_only_in_case_raise_value_error() -> None:
    with pytest.raises(ValueError, match="differ only in case"):
        RequestContext.build({"aws:username": "ana", "AWS:UserName": "mary"})


LOOKUP_CASES = [
    pytest.param({"values": {"k": "v"}, "unknowable": ["k"]}, KeyStatus.PRESENT, id="values-first"),
    pytest.param(
        {"values": {}, "unknowable": ["k"], "known_absent": ["k"]},
        KeyStatus.UNKNOWABLE,
        id="unknowable-before-known-absent",
    ),
    pytest.param(
        {"values": {}, "known_absent": ["K"], "missing_is_unknowable": True},
        KeyStatus.ABSENT,
        id="known-absent-in-graph-mode",
    ),
    pytest.param(
        {"values": {}, "missing_is_unknowable": True},
        KeyStatus.UNKNOWABLE,
        id="graph-mode-default",
    ),
    pytest.param({"values": {}}, KeyStatus.ABSENT, id="request-mode-default"),
]


@pytest.mark.parametrize(("arguments", "expected"), LOOKUP_CASES)
def test_lookup_status(arguments: dict[str, Any], expected: KeyStatus) -> None:
    context = RequestContext.build(**arguments)
    assert context.lookup("k")[0] is expected
