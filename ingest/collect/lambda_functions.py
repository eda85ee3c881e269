"""Lambda: the functions of one account in one region, with their resource-based policies.

`GetPolicy` returns the statements added with `AddPermission` and a full resource-based
policy alike, in one `Policy` string. For a function without a policy, Lambda returns
`ResourceNotFoundException`, and no `policy.json` is written.
"""

from __future__ import annotations

from ingest.collect.context import Context


def collect_lambda(context: Context) -> bool:
    """Collect `<region>/lambda/`; return whether the function listing was read."""
    listing = context.paginate("lambda", "ListFunctions", subject="Lambda functions")
    if not listing.ok or listing.data is None:
        return False
    context.write(("lambda", "functions.json"), listing.data, service="lambda", operation="ListFunctions")
    functions = listing.data.get("Functions", [])
    context.log.count("lambda", "functions", len(functions))

    for function in functions:
        name, arn = function["FunctionName"], function["FunctionArn"]
        policy = context.call(
            "lambda",
            "GetPolicy",
            subject=f"the resource-based policy of Lambda function {name}",
            resource=arn,
            absent=("ResourceNotFoundException",),
            FunctionName=name,
        )
        if context.write(("lambda", name, "policy.json"), policy.data, service="lambda", operation="GetPolicy"):
            context.log.count("lambda", "resource-based policies")
    return True
