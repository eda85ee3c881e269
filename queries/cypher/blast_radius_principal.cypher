// Blast radius of a principal: every resource a user or role reaches, directly, by
// assuming roles, or through Bedrock agents and Lambda functions, with one explaining
// path per (resource, access) and whether that path is a confused deputy.
//
// @param principal node ARN of a user or role
// @param sensitive_only boolean=true only resources marked sensitive
//
// Paths are chosen as the embedded engine chooses them (engine/paths.py): four passes,
// strong before weak (a weak path uses an agent's own execution role) and unconditional
// before conditional; the first pass that reaches a (resource, access) gives the path,
// except that a confused deputy is shown by its strongest path through an agent.
MATCH (:DeputyCurrent)-[:CURRENT]->(build:DeputyBuild)
MATCH (start:DeputyNode {build: build.id, arn: $principal})
WHERE start:User OR start:Role
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
  RETURN nodes(p) AS path_nodes, relationships(p) AS path_rels, target, false AS via_agent
  UNION
  // The shortest path of this pass that invokes an agent on the way: the shortest way to
  // each alias the walk can invoke, joined to the shortest way on from that alias. One
  // pattern holding both parts took minutes on a graph with escalation edges.
  MATCH pre = ANY SHORTEST ((start)
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
    (i)-[invoke:CAN_INVOKE_AGENT]->(alias:AgentAlias)
    WHERE (i:User OR i:Role OR i:EscalatedPrincipal) AND (walk.conditional OR NOT (coalesce(invoke.conditional, false) OR invoke.potential IS NOT NULL)))
  MATCH post = ANY SHORTEST ((alias)
    ((c)-[s]->(d) WHERE
      (walk.conditional OR NOT (coalesce(s.conditional, false) OR s.potential IS NOT NULL)) AND (
        ((c:User OR c:Role OR c:EscalatedPrincipal)
          AND (type(s) IN ['CAN_ASSUME', 'CAN_INVOKE_AGENT', 'CAN_INVOKE_FUNCTION'] OR coalesce(s.escalation, false))
          AND (walk.weak OR NOT coalesce(s.weak, false)))
        OR (c:AgentAlias AND type(s) = 'ROUTES_TO' AND coalesce(s.active, true))
        OR (c:AgentVersion AND type(s) = 'HAS_ACTION_GROUP' AND coalesce(s.enabled, true))
        OR (c:AgentVersion AND type(s) = 'USES_KNOWLEDGE_BASE' AND coalesce(s.enabled, true)
            AND coalesce(s.retrievable, true))
        OR (c:AgentVersion AND type(s) = 'HAS_EXECUTION_ROLE' AND walk.weak)
        OR (c:ActionGroup AND type(s) = 'CALLS_FUNCTION' AND coalesce(s.invocable, false))
        OR (c:LambdaFunction AND type(s) = 'HAS_EXECUTION_ROLE')
        OR (c:KnowledgeBase AND type(s) = 'HAS_DATA_SOURCE')
      )
    )*
    (x)-[last]->(target)
    WHERE type(last) IN kind.types
      AND (walk.conditional OR NOT (coalesce(last.conditional, false) OR last.potential IS NOT NULL))
      AND ((type(last) = 'INGESTS_FROM' AND x:DataSource) OR (type(last) <> 'INGESTS_FROM' AND (x:User OR x:Role OR x:EscalatedPrincipal))))
  WITH target, pre, post
  ORDER BY length(pre) + length(post)
  WITH target, head(collect({nodes: nodes(pre) + tail(nodes(post)), rels: relationships(pre) + relationships(post)})) AS best
  RETURN best.nodes AS path_nodes, best.rels AS path_rels, target, true AS via_agent
}
WITH start, kind, target, walk, path_nodes, path_rels, via_agent
ORDER BY walk.pass
WITH start, kind, target, collect({pass: walk.pass, nodes: path_nodes, rels: path_rels, via_agent: via_agent}) AS found
WITH start, kind, target,
     [f IN found WHERE NOT f.via_agent][0] AS general,
     [f IN found WHERE f.via_agent][0] AS agent
WHERE NOT $sensitive_only OR coalesce(target.sensitive, false)
WITH start, kind, target, general, agent,
     EXISTS {
       // ANY SHORTEST keeps the search breadth-first: without it, every path over dense
       // escalation edges is tried before the answer is no.
       MATCH ANY SHORTEST ((start) ((u)-[t]->(v) WHERE (type(t) = 'CAN_ASSUME' OR coalesce(t.escalation, false)
         OR (u:LambdaFunction AND type(t) = 'HAS_EXECUTION_ROLE')) AND NOT (coalesce(t.conditional, false) OR t.potential IS NOT NULL))* (y)-[last]->(target)
       WHERE type(last) IN kind.types AND type(last) <> 'INGESTS_FROM' AND NOT (coalesce(last.conditional, false) OR last.potential IS NOT NULL))
     } AS direct_unconditional,
     EXISTS {
       MATCH ANY SHORTEST ((start) ((u)-[t]->(v) WHERE (type(t) = 'CAN_ASSUME' OR coalesce(t.escalation, false)
         OR (u:LambdaFunction AND type(t) = 'HAS_EXECUTION_ROLE')))* (y)-[last]->(target)
       WHERE type(last) IN kind.types AND type(last) <> 'INGESTS_FROM')
     } AS direct_any
// A path through an agent is shown whenever it makes a confused deputy, even where a
// shorter path without an agent exists; otherwise the pass's shortest path is shown.
WITH start, kind, target, general, agent,
     agent IS NOT NULL AND NOT direct_unconditional AND (NOT direct_any OR agent.pass IN [1, 3]) AS confused_deputy
WITH start, kind, target, confused_deputy,
     CASE WHEN confused_deputy THEN agent ELSE general END AS chosen
WITH start, kind, target, confused_deputy, chosen.nodes AS path_nodes, chosen.rels AS path_rels, chosen.pass AS pass
WITH start, kind, target, confused_deputy, path_nodes, path_rels, pass,
     any(n IN path_nodes WHERE n:AgentAlias) AS through_agent
RETURN
  target.arn AS target,
  labels(target)[1] AS target_label,
  kind.access AS access,
  pass IN [3, 4] AS weak,
  any(r IN path_rels WHERE coalesce(r.conditional, false)) AS conditional,
  through_agent,
  confused_deputy,
  [n IN path_nodes | n.arn] AS nodes,
  [r IN path_rels | type(r)] AS relationship_types,
  [r IN path_rels | r.statement_refs] AS statement_refs
ORDER BY target, access
