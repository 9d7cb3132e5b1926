"""`python -m deploy.bench`: Gonghui's outbox and end-to-end rates next to the raw client limits."""
