// Who can modify a guardrail in use: every user or role allowed to update, delete or
// version a guardrail that some agent version applies, directly or after assuming roles or
// escalating.
//
// @param guardrail node= ARN of one guardrail, or empty for every guardrail in use
MATCH (:DeputyCurrent)-[:CURRENT]->(build:DeputyBuild)
MATCH (guardrail:Guardrail {build: build.id})
WHERE ($guardrail = '' OR guardrail.arn = $guardrail) AND EXISTS { MATCH (:AgentVersion)-[:USES_GUARDRAIL]->(guardrail) }
MATCH (principal:DeputyNode {build: build.id})
WHERE principal:User OR principal:Role
MATCH p = ANY SHORTEST (principal) ((u)-[s]->(v) WHERE type(s) = 'CAN_ASSUME'
    OR (coalesce(s.escalation, false) AND (v:User OR v:Role OR v:EscalatedPrincipal)))* (w)-[modify:CAN_MODIFY_GUARDRAIL]->(guardrail)
RETURN
  guardrail.arn AS guardrail,
  principal.arn AS principal,
  modify.actions AS actions,
  size(relationships(p)) AS hops,
  any(r IN relationships(p) WHERE coalesce(r.conditional, false)) AS conditional
ORDER BY guardrail, principal
