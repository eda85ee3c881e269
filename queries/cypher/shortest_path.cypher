// The shortest path between two nodes by the walk rules of the blast radius: from a user
// or role to any node (a bucket, a VPC API, a role, an agent alias, a Lambda function).
//
// @param from node ARN of the user or role where the path starts
// @param to node ARN of the node where the path ends
MATCH (:DeputyCurrent)-[:CURRENT]->(build:DeputyBuild)
MATCH (start:DeputyNode {build: build.id, arn: $from})
MATCH (target:DeputyNode {build: build.id, arn: $to})
MATCH p = ANY SHORTEST (start)
  ((a)-[r]->(b) WHERE
    ((a:User OR a:Role OR a:EscalatedPrincipal)
      AND (type(r) IN ['CAN_ASSUME', 'CAN_INVOKE_AGENT', 'CAN_INVOKE_FUNCTION',
                       'CAN_READ', 'CAN_WRITE', 'CAN_CALL', 'CAN_MODIFY_GUARDRAIL'] OR coalesce(r.escalation, false)))
    OR (a:AgentAlias AND type(r) = 'ROUTES_TO' AND coalesce(r.active, true))
    OR (a:AgentVersion AND type(r) = 'HAS_ACTION_GROUP' AND coalesce(r.enabled, true))
    OR (a:AgentVersion AND type(r) = 'USES_KNOWLEDGE_BASE' AND coalesce(r.enabled, true)
        AND coalesce(r.retrievable, true))
    OR (a:AgentVersion AND type(r) = 'HAS_EXECUTION_ROLE')
    OR (a:ActionGroup AND type(r) = 'CALLS_FUNCTION' AND coalesce(r.invocable, false))
    OR (a:LambdaFunction AND type(r) = 'HAS_EXECUTION_ROLE')
    OR (a:KnowledgeBase AND type(r) = 'HAS_DATA_SOURCE')
    OR (a:DataSource AND type(r) = 'INGESTS_FROM')
  )+
  (target)
RETURN
  [n IN nodes(p) | n.arn] AS nodes,
  [r IN relationships(p) | type(r)] AS relationship_types,
  [r IN relationships(p) | r.reason] AS reasons,
  any(r IN relationships(p) WHERE coalesce(r.conditional, false)) AS conditional
