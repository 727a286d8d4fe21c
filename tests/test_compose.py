"""compose.yaml is the production layout: Neo4j 5 with a volume and auth from the environment, and the app
pointed at it. (No Docker engine runs in CI; this checks the file, the store suite checks Neo4j itself.)"""

from __future__ import annotations

import yaml
from conftest import REPO


def test_compose_runs_neo4j_5_and_the_app() -> None:
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    neo4j, app = compose["services"]["neo4j"], compose["services"]["factloom"]
    assert neo4j["image"] == "neo4j:5"
    assert any(v.endswith(":/data") for v in neo4j["volumes"]) and "neo4j-data" in compose["volumes"]
    assert "${FACTLOOM_NEO4J_PASSWORD" in neo4j["environment"]["NEO4J_AUTH"]
    assert all(p.startswith("127.0.0.1:") for p in neo4j["ports"])
    assert app["environment"]["FACTLOOM_NEO4J_URI"] == "neo4j://neo4j:7687"
    assert app["depends_on"]["neo4j"]["condition"] == "service_healthy"
    dockerfile = (REPO / "Dockerfile").read_text()
    for package in ("ingest", "extract", "kg", "retrieve", "reader", "app"):
        assert f"COPY {package} {package}" in dockerfile
    assert "torch==2.13.0" in dockerfile
