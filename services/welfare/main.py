"""ASGI entry point: `uvicorn services.welfare.main:app`."""

from services.welfare.bootstrap import bootstrap

app = bootstrap().app
