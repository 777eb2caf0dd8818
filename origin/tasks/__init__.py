"""Task records: the dead letters of tasks and stream messages given up on (``backoffice``).

The dead-letter table and the task errors live here: workers/deadletters.py
writes, lists and replays task dead letters, origin/analytics/dead_letters.py
records refused store-events messages. Enqueueing is origin.queueing.

May import origin.db and origin.errors.
"""
