"""The REST API that `deputy serve` runs: FastAPI routes over the embedded graph or Neo4j."""
