"""taskiq brokers and tasks. Tasks take ids and call origin domain actions, never origin.web."""
