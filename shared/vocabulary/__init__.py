"""The codes Gonghui's services and pages share, each with its one Chinese label.

Part of the published language, like `shared.events`: the services' domains use these enums
for their statuses, kinds and roles, and the web front end shows their labels, so "在会" is
written once. One module per service that owns the words: `members`, `events`.
"""
