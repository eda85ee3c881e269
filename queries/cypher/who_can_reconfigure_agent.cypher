// Who can reconfigure an agent: every user or role allowed to change the agent's role,
// action groups or knowledge bases (bedrock:UpdateAgent, CreateAgentActionGroup,
// UpdateAgentActionGroup, AssociateAgentKnowledgeBase, PrepareAgent), directly or after
// assuming roles or escalating, and so gain whatever the agent can reach. `passable_roles` lists the roles
// that principal may pass to Bedrock (iam:PassRole), so it can also give the agent one of them.
//
// @param agent node ARN of the agent (arn:...:agent/ID)
MATCH (:DeputyCurrent)-[:CURRENT]->(build:DeputyBuild)
MATCH (agent:BedrockAgent {build: build.id, arn: $agent})
MATCH (principal:DeputyNode {build: build.id})
WHERE principal:User OR principal:Role
MATCH p = ANY SHORTEST (principal) ((u)-[s]->(v) WHERE type(s) = 'CAN_ASSUME'
    OR (coalesce(s.escalation, false) AND (v:User OR v:Role OR v:EscalatedPrincipal)))* (w)-[configure:CAN_CONFIGURE_AGENT]->(agent)
RETURN
  principal.arn AS principal,
  labels(principal)[1] AS principal_label,
  configure.actions AS actions,
  COLLECT { MATCH (w)-[:CAN_PASS_ROLE]->(role:Role) RETURN role.arn ORDER BY role.arn } AS passable_roles,
  size(relationships(p)) AS hops,
  any(r IN relationships(p) WHERE coalesce(r.conditional, false)) AS conditional,
  [n IN nodes(p) | n.arn] AS nodes
ORDER BY principal
