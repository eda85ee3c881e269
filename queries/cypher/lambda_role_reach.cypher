// What each Lambda function's execution role reaches with its own permissions or by
// assuming roles: the resources a caller of the function can touch through it.
//
// @param function string= ARN of one function, or empty for every function
// @param sensitive_only boolean=true only resources marked sensitive
MATCH (:DeputyCurrent)-[:CURRENT]->(build:DeputyBuild)
MATCH (function:LambdaFunction {build: build.id})-[:HAS_EXECUTION_ROLE]->(role:Role)
WHERE $function = '' OR function.arn = $function
MATCH p = ANY SHORTEST ((role) ((u)-[:CAN_ASSUME]->(v))* (w)-[last]->(target)
  WHERE type(last) IN ['CAN_READ', 'CAN_WRITE', 'CAN_CALL', 'CAN_MODIFY_GUARDRAIL'])
WITH function, role, target, p, last
WHERE NOT $sensitive_only OR coalesce(target.sensitive, false)
RETURN
  function.arn AS function,
  role.arn AS role,
  target.arn AS target,
  type(last) AS access,
  size(relationships(p)) AS hops
ORDER BY function, target, access
