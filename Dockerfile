# syntax=docker/dockerfile:1
# Tailor's service image: the API (`tailor serve`, the default command) and the render workers
# (`tailor worker`), with the fonts, Pango/HarfBuzz, ffmpeg and espeak-ng the renderers need.
#   docker build -t tailor .
#   docker run -p 8000:8000 tailor                      # API on :8000, outputs in /data
#   docker run tailor worker --concurrency 4            # a Celery worker (needs TAILOR_BROKER_URL)

# ---- builder: the project and its dependencies in a self-contained venv ----------------------
FROM python:3.11.11-slim-bookworm AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies first, at the versions and hashes of the runtime lock (the same versions the test
# suite ran), so a code change does not reinstall them and nothing moves between two builds.
COPY requirements/build.lock requirements/runtime.lock requirements/
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements/build.lock \
 && pip install --no-cache-dir --require-hashes --no-deps -r requirements/runtime.lock

COPY pyproject.toml README.md LICENSE ./
COPY renderer renderer
RUN pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /tmp/wheels . \
 && pip install --no-cache-dir --no-deps /tmp/wheels/tailor-*.whl \
 && pip check

# ---- runtime: Debian's runtime libraries, the venv, templates, assets, triggers; no build tools -------
FROM python:3.11.11-slim-bookworm AS runtime

# The Makefile's DEMO_DEBS without python3-venv/python3-pip: fonts for Latin, Turkish and
# Persian/Arabic, Pango + HarfBuzz for WeasyPrint, ffmpeg for video, espeak-ng for narration.
# Unpinned on purpose (hadolint DL3008): a rebuild picks up bookworm's security updates.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      fonts-noto-core fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 \
      libharfbuzz-subset0 shared-mime-info ffmpeg espeak-ng fontconfig \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --gid 10001 tailor \
 && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin tailor \
 && mkdir -p /data \
 && chown tailor:tailor /data

COPY --from=builder /opt/venv /opt/venv
COPY templates /app/templates
COPY assets /app/assets
COPY triggers /app/triggers

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TAILOR_TEMPLATES_DIR=/app/templates \
    TAILOR_ASSETS_DIR=/app/assets \
    TAILOR_TRIGGERS_DIR=/app/triggers \
    TAILOR_STORAGE_URL=/data

# Numeric user so orchestrators can verify runAsNonRoot; /data holds local outputs and the
# default SQLite job store (/data/_tailor/jobs.db, beside the outputs it describes).
USER 10001:10001
WORKDIR /data
EXPOSE 8000

# Python's urllib instead of curl: nothing extra to install. Fails on refusal, timeout or non-2xx.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

ENTRYPOINT ["tailor"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
