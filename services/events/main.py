"""ASGI entry point: `uvicorn services.events.main:app`."""

from services.events.bootstrap import bootstrap

app = bootstrap().app
