# monitor: the service in a slim image, as a non-root user.
#   docker build -t monitor .
#   docker run -v monitor-data:/app/data -v monitor-digests:/app/digests -p 8080:8080 monitor
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MONITOR_CONFIG=/app/sources.yaml \
    MONITOR_DATA_DIR=/app/data \
    MONITOR_DIGEST_DIR=/app/digests \
    MONITOR_HTTP_PORT=8080

WORKDIR /app
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin monitor

# The README's install step (pip installs the project and its pinned dependencies from
# pyproject.toml), plus the PostgreSQL driver.
COPY pyproject.toml README.md ./
COPY monitor ./monitor
RUN pip install --no-cache-dir ".[postgres]"
COPY sources.yaml ./

RUN mkdir -p /app/data /app/digests && chown monitor:monitor /app/data /app/digests
USER monitor
VOLUME ["/app/data", "/app/digests"]
EXPOSE 8080

# /healthz answers 200 while the scheduler runs, the database answers and polls are recent.
HEALTHCHECK --interval=60s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as u; sys.exit(0 if u.urlopen('http://127.0.0.1:8080/healthz', timeout=8).status == 200 else 1)"]

# Migrations are applied on start (and by `monitor db upgrade`).
CMD ["monitor", "run"]
