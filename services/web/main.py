"""ASGI entry point: `uvicorn services.web.main:app`."""

from services.web.bootstrap import bootstrap

app = bootstrap()
