"""Side effects: storage, email, archives. Modules that define Prefect tasks say so in
their name (``*_tasks.py``); the rest import no Prefect, so read-only commands stay fast."""
