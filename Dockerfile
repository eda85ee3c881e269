# The deputy command line, for docker-compose.yml. Build from the repository root:
#   docker build -t deputygraph .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Only the files that `pip install .` reads: pyproject.toml names README.md as the
# long description, and the four packages hold the code and its data files.
COPY pyproject.toml README.md /src/
COPY engine /src/engine
COPY ingest /src/ingest
COPY queries /src/queries
COPY api /src/api
RUN pip install /src && rm -rf /src

RUN useradd --create-home --uid 10001 --user-group deputy
USER deputy
WORKDIR /home/deputy

ENTRYPOINT ["deputy"]
CMD ["--help"]
