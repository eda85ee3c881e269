"""Wildcard matching of actions, ARNs and resource sets."""

from __future__ import annotations

import pytest

from engine.matching import action_matches, arn_matches, arn_pattern_covers, arn_pattern_intersects, glob_intersects


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("s3:Get*", "s3:GetObject", True),
        ("s3:get*", "S3:GETOBJECT", True),
        ("s3:*Object", "s3:PutObject", True),
        ("s3:Get?bject", "s3:GetObject", True),
        ("s3:Get*", "s3:PutObject", False),
        ("*", "ec2:CreateVpc", True),
        ("ec2:Create*", "ec2:DeleteVpc", False),
    ],
)
def test_action_matches(pattern: str, action: str, expected: bool) -> None:
    assert action_matches(pattern, action) is expected


@pytest.mark.parametrize(
    ("pattern", "arn", "expected"),
    [
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b.txt", True),
        ("arn:aws:s3:::Bucket/*", "arn:aws:s3:::bucket/a", False),
        ("arn:aws:iam::*:role/admin", "arn:aws:iam::111122223333:role/admin", True),
        ("arn:aws:iam::1111*:role/admin", "arn:aws:iam::222211112222:role/admin", False),
        ("arn:aws:lambda:*:*:function:fn", "arn:aws:lambda:us-east-1:111122223333:function:fn", True),
        ("arn:aws:lambda:us-*:*:function:*", "arn:aws:lambda:eu-west-1:111122223333:function:fn", False),
        ("arn:aws:s3:*", "arn:aws:s3:::bucket/key", True),
        ("*", "arn:aws:sqs:us-east-1:111122223333:queue", True),
    ],
)
def test_arn_matches(pattern: str, arn: str, expected: bool) -> None:
    assert arn_matches(pattern, arn) is expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("arn:aws:s3:::data/public/*", "arn:aws:s3:::data/*", True),
        ("arn:aws:s3:::*", "arn:aws:s3:::data/*", True),
        ("arn:aws:s3:::other/*", "arn:aws:s3:::data/*", False),
        ("arn:aws:s3:::dat?/x", "arn:aws:s3:::data/*", True),
        ("a*b", "*c", False),
        ("a*c", "ab*", True),
    ],
)
def test_glob_intersects(left: str, right: str, expected: bool) -> None:
    assert glob_intersects(left, right) is expected


def test_intersects_whole_set() -> None:
    assert arn_pattern_intersects("*", "arn:aws:s3:::data/*")


@pytest.mark.parametrize(
    ("pattern", "resource_set", "expected"),
    [
        ("arn:aws:s3:::data/*", "arn:aws:s3:::data/*", True),
        ("arn:aws:s3:::*", "arn:aws:s3:::data/*", True),
        ("arn:aws:s3:::data/secret/*", "arn:aws:s3:::data/*", False),
        ("arn:aws:s3:::data/?", "arn:aws:s3:::data/*", False),
        ("*", "arn:aws:s3:::data/*", True),
        ("arn:aws:s3:::data/x", "arn:aws:s3:::data/x", True),
    ],
)
def test_arn_pattern_covers(pattern: str, resource_set: str, expected: bool) -> None:
    assert arn_pattern_covers(pattern, resource_set) is expected
