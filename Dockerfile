# Tailor's renderer image: the CLI with the fonts and libraries WeasyPrint needs.
# The service (API, workers) and a multi-stage build arrive with the service issue.
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      fonts-noto-core fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 \
      libharfbuzz-subset0 shared-mime-info \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY renderer renderer
COPY templates templates
COPY assets assets
RUN pip install --no-cache-dir . \
 && useradd --create-home --uid 10001 tailor \
 && mkdir -p /data && chown tailor /data

ENV TAILOR_TEMPLATES_DIR=/app/templates \
    TAILOR_ASSETS_DIR=/app/assets \
    TAILOR_STORAGE_URL=/data
USER tailor
WORKDIR /data
ENTRYPOINT ["tailor"]
CMD ["--help"]
