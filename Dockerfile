# ledgerql production image: `ledgerql serve` (migrations, then uvicorn) on port 8000.
#
#   docker build -t ledgerql .
#   docker run -p 8000:8000 -v ledgerql-data:/data ledgerql
#   docker run --rm -v ledgerql-data:/data ledgerql ledgerql tenant create --help
#
# The default database is SQLite on the /data volume; set DATABASE_URL to a
# postgresql+asyncpg://... URL to use PostgreSQL instead (docker-compose.yml does).
# `ledgerql serve` applies the migrations before it serves, once, before any worker.
# docs/deployment.md: compose, workers, what is checked (tests/test_deployment.py).

# The base image by its full tag (patch release and Debian release): a rebuild gets
# the same Python; bump it deliberately (both stages) for security updates.
FROM python:3.11.13-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/ledgerql
WORKDIR /src
COPY . .
# A regular (non-editable) install: the code, migrations and GraphiQL assets
# go into the venv's site-packages; the source tree stays in this stage.
RUN /opt/ledgerql/bin/pip install .


FROM python:3.11.13-slim-bookworm

ENV PATH=/opt/ledgerql/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/ledgerql.db

RUN groupadd --system --gid 10001 ledgerql \
    && useradd --system --uid 10001 --gid ledgerql --home-dir /data --no-create-home ledgerql \
    && mkdir /data \
    && chown ledgerql:ledgerql /data

COPY --from=build /opt/ledgerql /opt/ledgerql

# Declared after the chown, so a new volume starts out owned by ledgerql.
VOLUME ["/data"]
WORKDIR /data
# Numeric, so that a runtime that cannot read /etc/passwd (Kubernetes' runAsNonRoot)
# still sees a non-root user.
USER 10001:10001

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]

CMD ["ledgerql", "serve", "--host", "0.0.0.0", "--port", "8000"]
