"""The attack-path engine: the inventory model, the IAM policy evaluator and the graph."""
