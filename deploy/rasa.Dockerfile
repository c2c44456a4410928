# The Rasa server: the official Rasa 3.6 image plus underthesea and our nlu/ components.
# The trained model (make train) is copied in: build after training.
FROM rasa/rasa:3.6.21

USER root
COPY constraints/rasa.txt /tmp/rasa-constraints.txt
# rasa/rasa already has psycopg2 and redis; underthesea is what nlu/ adds.
RUN pip install --no-cache-dir -c /tmp/rasa-constraints.txt underthesea==9.5.0

WORKDIR /app
COPY nlu nlu
COPY bot/credentials.yml bot/credentials.yml
COPY deploy/endpoints.yml deploy/endpoints.yml
COPY models/hotline.tar.gz models/hotline.tar.gz
RUN chown -R 1001 /app

USER 1001
ENV PYTHONPATH=/app RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=3 PYTHONWARNINGS=ignore
EXPOSE 5005
# Rasa's own command line with three per-turn costs of Rasa 3.6 removed (nlu/server.py),
# as `hotline run` starts it; docker-compose.yml gives the arguments.
ENTRYPOINT ["python", "-m", "nlu.server"]
CMD ["run", "--model", "models/hotline.tar.gz", "--endpoints", "deploy/endpoints.yml", "--credentials", "bot/credentials.yml", "--port", "5005"]
