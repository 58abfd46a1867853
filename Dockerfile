# monitor: a slim image running the service as a non-root user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    MONITOR_DATA_DIR=/app/data \
    MONITOR_DIGEST_DIR=/app/digests \
    MONITOR_CONFIG=/app/sources.yaml

WORKDIR /app
RUN useradd --system --create-home --home-dir /home/monitor --uid 10001 monitor

# Same install step as the README's `make run` (pip install of the project), without the venv.
COPY pyproject.toml README.md ./
COPY monitor ./monitor
RUN pip install --no-cache-dir '.[postgres]'
COPY sources.yaml ./

RUN mkdir -p /app/data /app/digests && chown -R monitor:monitor /app/data /app/digests
USER monitor
VOLUME ["/app/data", "/app/digests"]

CMD ["monitor", "run"]
