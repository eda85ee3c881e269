// Blast radius of an agent: what invoking each alias of one Bedrock agent reaches through
// its action-group Lambda functions, knowledge bases and execution role.
//
// @param agent node ARN of the agent (arn:...:agent/ID)
// @param sensitive_only boolean=true only resources marked sensitive
MATCH (:DeputyCurrent)-[:CURRENT]->(build:DeputyBuild)
MATCH (start:AgentAlias {build: build.id, agent: $agent})
UNWIND [
  {pass: 1, weak: false, conditional: false},
  {pass: 2, weak: false, conditional: true},
  {pass: 3, weak: true, conditional: false},
  {pass: 4, weak: true, conditional: true}
] AS walk
UNWIND [
  {access: 'read', types: ['CAN_READ', 'INGESTS_FROM']},
  {access: 'write', types: ['CAN_WRITE']},
  {access: 'call', types: ['CAN_CALL']},
  {access: 'modify', types: ['CAN_MODIFY_GUARDRAIL']}
] AS kind
CALL (start, walk, kind) {
  // The WHERE sits inside the parenthesised pattern so that it filters paths before
  // the shortest one is chosen, not after.
  MATCH p = ANY SHORTEST ((start)
    ((a)-[r]->(b) WHERE
      (walk.conditional OR NOT (coalesce(r.conditional, false) OR r.potential IS NOT NULL)) AND (
        ((a:User OR a:Role OR a:EscalatedPrincipal)
          AND (type(r) IN ['CAN_ASSUME', 'CAN_INVOKE_AGENT', 'CAN_INVOKE_FUNCTION'] OR coalesce(r.escalation, false))
          AND (walk.weak OR NOT coalesce(r.weak, false)))
        OR (a:AgentAlias AND type(r) = 'ROUTES_TO' AND coalesce(r.active, true))
        OR (a:AgentVersion AND type(r) = 'HAS_ACTION_GROUP' AND coalesce(r.enabled, true))
        OR (a:AgentVersion AND type(r) = 'USES_KNOWLEDGE_BASE' AND coalesce(r.enabled, true)
            AND coalesce(r.retrievable, true))
        OR (a:AgentVersion AND type(r) = 'HAS_EXECUTION_ROLE' AND walk.weak)
        OR (a:ActionGroup AND type(r) = 'CALLS_FUNCTION' AND coalesce(r.invocable, false))
        OR (a:LambdaFunction AND type(r) = 'HAS_EXECUTION_ROLE')
        OR (a:KnowledgeBase AND type(r) = 'HAS_DATA_SOURCE')
      )
    )*
    (x)-[last]->(target)
    WHERE type(last) IN kind.types
      AND (walk.conditional OR NOT (coalesce(last.conditional, false) OR last.potential IS NOT NULL))
      AND ((type(last) = 'INGESTS_FROM' AND x:DataSource) OR (type(last) <> 'INGESTS_FROM' AND (x:User OR x:Role OR x:EscalatedPrincipal))))
  RETURN p, target
}
WITH start, kind, target, walk, p
ORDER BY walk.pass
WITH start, kind, target, collect({pass: walk.pass, path: p})[0] AS chosen
WHERE NOT $sensitive_only OR coalesce(target.sensitive, false)
WITH start, kind, target, chosen.path AS p, chosen.pass AS pass
RETURN
  start.arn AS alias,
  target.arn AS target,
  labels(target)[1] AS target_label,
  kind.access AS access,
  pass IN [3, 4] AS weak,
  any(r IN relationships(p) WHERE coalesce(r.conditional, false)) AS conditional,
  [n IN nodes(p) | n.arn] AS nodes,
  [r IN relationships(p) | type(r)] AS relationship_types,
  [r IN relationships(p) | r.statement_refs] AS statement_refs
ORDER BY alias, target, access
