"""ASGI entry point: `uvicorn services.notify.main:app`."""

from services.notify.bootstrap import bootstrap

app = bootstrap().app
