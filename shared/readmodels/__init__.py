"""Business read models that several services keep from another service's events.

A service never reads another's database (DESIGN §2): it keeps what it needs of members (the
member directory: events, welfare) from their events, in its own database. Each model is
written only by the consumer that owns the entity's partition, and applies an event only if
it is newer than what it holds (`newest`), so redeliveries and replays never roll back.
"""
