// What each Lambda function's execution role reaches with its own permissions, by
// assuming roles or by escalating: the resources a caller of the function can touch through it.
//
// @param function node= ARN of one function, or empty for every function
// @param sensitive_only boolean=true only resources marked sensitive
MATCH (:DeputyCurrent)-[:CURRENT]->(build:DeputyBuild)
MATCH (function:LambdaFunction {build: build.id})-[:HAS_EXECUTION_ROLE]->(role:Role)
WHERE $function = '' OR function.arn = $function
UNWIND ['CAN_READ', 'CAN_WRITE', 'CAN_CALL', 'CAN_MODIFY_GUARDRAIL'] AS access
// One shortest path per access kind: a single search per (role, target) would keep only
// one of read and write when both reach the same bucket.
CALL (role, access) {
  MATCH p = ANY SHORTEST ((role)
    ((u)-[s]->(v) WHERE type(s) = 'CAN_ASSUME'
      OR (coalesce(s.escalation, false) AND (v:User OR v:Role OR v:EscalatedPrincipal)))*
    (w)-[last]->(target) WHERE type(last) = access)
  RETURN p, target
}
WITH function, role, target, p, access
WHERE NOT $sensitive_only OR coalesce(target.sensitive, false)
RETURN
  function.arn AS function,
  role.arn AS role,
  target.arn AS target,
  access,
  size(relationships(p)) AS hops
ORDER BY function, target, access
