// Who can invoke an agent: every user or role with bedrock:InvokeAgent on one of the
// agent's aliases, directly or after assuming roles or escalating, with the shortest such
// chain.
//
// @param agent node ARN of the agent (arn:...:agent/ID)
MATCH (:DeputyCurrent)-[:CURRENT]->(build:DeputyBuild)
MATCH (alias:AgentAlias {build: build.id, agent: $agent})
MATCH (principal:DeputyNode {build: build.id})
WHERE principal:User OR principal:Role
MATCH p = ANY SHORTEST (principal) ((u)-[s]->(v) WHERE type(s) = 'CAN_ASSUME'
    OR (coalesce(s.escalation, false) AND (v:User OR v:Role OR v:EscalatedPrincipal)))* (w)-[:CAN_INVOKE_AGENT]->(alias)
RETURN
  principal.arn AS principal,
  labels(principal)[1] AS principal_label,
  alias.arn AS alias,
  size(relationships(p)) AS hops,
  any(r IN relationships(p) WHERE coalesce(r.conditional, false)) AS conditional,
  [n IN nodes(p) | n.arn] AS nodes
ORDER BY principal, alias
