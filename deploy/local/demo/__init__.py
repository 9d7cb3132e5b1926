"""Demo data so a fresh `make run` has a living union to look at.

    python -m deploy.local.demo --members-url http://127.0.0.1:8001 --events-url http://127.0.0.1:8002

Everything is written over the services' public HTTP APIs, as the people concerned would (an
admin token for a cadre's work, member tokens for what members do themselves), from fixed
seeds: seeding twice changes nothing (409 means "already there").

One module per service, each with an `async def seed(<service url>)` returning
(added, already there) and raising SeedError on any other answer:

    client.py    tokens (the dev key, or GONGHUI_AUTH_PRIVATE_KEY_FILE) and the answer rule
    members.py   campuses, about sixty members, children and the childcare survey, this
                 month's dues, and the initial passwords (seed_passwords)
    events.py    the activities of the coming months, the sports meet, the annual plan; a
                 blood drive held with its donors checked in (seed_donors)
    webhooks.py  a webhook subscription to the demo receiver (the launcher starts the
                 receiver, deploy/local/webhook_receiver.py, and seeds it after members)
    voice.py     the summer-activity survey with answers, the suggestion box with a reply
                 (seed_surveys); a 师德标兵 campaign in its voting phase, a congress session with
                 proposals (seed_congress)
    funds.py     welfare's books: this year's budgets, incomes, payments, a reversal (the
                 dues income follows from members' dues payments over Kafka)
    welfare_plans.py  the 端午 plan in its choice phase and the 中秋 plan issued
    welfare_exams.py  this year's exam plan with bookings, both mutual-aid schemes
    care.py      welfare's condolence cases at every step, a visit, a hardship file, this
                 month's birthday benefits
    notices.py   通知公告: three notices, one mandatory and read by two thirds of main
    preferences.py  three members' own notification settings (channels, quiet hours)

The seeders run in the order of one table, `order.py` (`SEEDERS`), used by `__main__.py`
and by the launcher's `_seed` (deploy/local/launcher.py): a new service's demo data is a
module here with its `seed(url)` and a row in that table, after the members it refers to (use
`members.demo_members()` and `member_id_for`, never a second list of people) and after the
books when it spends money.
"""
