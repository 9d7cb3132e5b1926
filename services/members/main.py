"""ASGI entry point: `uvicorn services.members.main:app`."""

from services.members.bootstrap import bootstrap

app = bootstrap().app
