# The application image (Python 3.11): the gateway, the action server and the migrations.
# Built by docker-compose.yml; the same commands run outside Docker from .venv.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, pinned, so that code changes do not reinstall them.
COPY pyproject.toml README.md ./
COPY constraints/app.txt constraints/app.txt
RUN mkdir -p hotline knowledge helpdesk actions connectors \
    && pip install -c constraints/app.txt -e . \
    && useradd --system --uid 1001 --home /app hotline

# The code, and the data files it reads at start (the crisis text in bot/domain, nlu/ and
# the trained model for the gateway's risk detector: the lexicon and the learned risk net
# kept in the model). Installed in place, so that paths resolve under /app.
COPY hotline hotline
COPY knowledge knowledge
COPY helpdesk helpdesk
COPY actions actions
COPY connectors connectors
COPY nlu nlu
COPY bot/domain bot/domain
COPY models/hotline.tar.gz models/hotline.tar.gz
COPY migrations migrations
COPY alembic.ini alembic.ini
RUN mkdir -p var && chown hotline var

USER hotline
ENV PYTHONPATH=/app BIND_HOST=0.0.0.0
EXPOSE 8000 5055
CMD ["python", "-m", "connectors"]
