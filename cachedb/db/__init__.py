"""The metadata database: models, engine set-up, migrations and the event log."""
