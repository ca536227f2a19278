FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir -e . \
    && DEBUG=true HOOKLINE_VAR_DIR=/tmp/hookline python manage.py collectstatic --noinput
EXPOSE 8000
