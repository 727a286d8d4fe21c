# The Factloom CLI image used by compose.yaml (store: the Neo4j service).
FROM python:3.11-slim
WORKDIR /app
# torch first and pinned. PyPI's Linux wheel is the multi-GB CUDA build; for a small CPU-only image pass
# --build-arg TORCH_INDEX_URL=<the PyTorch CPU wheel index> to `docker compose build`.
ARG TORCH_INDEX_URL=""
RUN pip install --no-cache-dir ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} torch==2.13.0
COPY pyproject.toml README.md ./
COPY ingest ingest
COPY extract extract
COPY kg kg
COPY retrieve retrieve
COPY reader reader
COPY app app
COPY samples samples
RUN pip install --no-cache-dir .
ENTRYPOINT ["factloom"]
