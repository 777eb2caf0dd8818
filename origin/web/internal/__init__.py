"""Routes of the internal listener (never exposed to the internet): the health report; the public app's liveness answer."""
