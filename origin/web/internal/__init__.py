"""Routes of the internal listener (never exposed to the internet) and the health check both apps serve."""
