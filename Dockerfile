# The production image: gunicorn for web; the same image runs the Celery worker(s) and beat,
# and (with DEBUG-free sandbox settings) the optional standalone sandbox. See docker-compose.yml.
#
# Two stages: the build stage installs the pinned, hash-checked lock file into a virtualenv; the
# runtime stage gets that virtualenv, the code and WeasyPrint's system libraries, nothing else.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
COPY requirements.lock /tmp/requirements.lock
RUN /venv/bin/pip install --require-hashes -r /tmp/requirements.lock

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH="/venv/bin:$PATH" \
    LOG_FORMAT=json PORT=8000
# Pango and HarfBuzz for WeasyPrint (report PDFs); DejaVu as the fallback font. No compilers.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --uid 10001 --create-home --shell /usr/sbin/nologin prism
COPY --from=build /venv /venv
WORKDIR /app
COPY --chown=root:root . .
# Static files collected with the production storage (hashed names and the manifest whitenoise
# needs). The values below exist only for this build step; the container gets its own.
RUN DEBUG=0 SECRET_KEY=collectstatic-only ALLOWED_HOSTS=build \
      TOKEN_ENCRYPTION_KEYS=ZGV2LW9ubHktdG9rZW4ta2V5LW5vdC1mb3ItcHJvZCE= \
      python manage.py collectstatic --noinput -v0 \
    && mkdir -p /app/var/media /app/var/celery \
    && chown -R prism:prism /app/var
USER prism
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --retries=3 CMD ["python", "-m", "config.healthcheck", "web"]
CMD ["gunicorn", "config.wsgi", "--config", "python:config.gunicorn"]
