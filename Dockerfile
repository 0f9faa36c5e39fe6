# ledgerql production image: `ledgerql serve` (migrations, then uvicorn) on port 8000.
#
#   docker build -t ledgerql .
#   docker run -p 8000:8000 -v ledgerql-data:/data ledgerql
#   docker run --rm -v ledgerql-data:/data ledgerql ledgerql tenant create --help
#
# The default database is SQLite on the /data volume; set DATABASE_URL to a
# postgresql+asyncpg://... URL to use PostgreSQL instead.

FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/ledgerql
WORKDIR /src
COPY . .
# A regular (non-editable) install: the code, migrations and GraphiQL assets
# go into the venv's site-packages; the source tree stays in this stage.
RUN /opt/ledgerql/bin/pip install .


FROM python:3.11-slim

ENV PATH=/opt/ledgerql/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DATABASE_URL=sqlite+aiosqlite:////data/ledgerql.db

RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home ledgerql \
    && mkdir /data \
    && chown ledgerql:ledgerql /data

COPY --from=build /opt/ledgerql /opt/ledgerql

# Declared after the chown, so a new volume starts out owned by ledgerql.
VOLUME ["/data"]
WORKDIR /data
USER ledgerql

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]

CMD ["ledgerql", "serve", "--host", "0.0.0.0", "--port", "8000"]
