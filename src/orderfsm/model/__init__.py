"""The table model and its compiler: value objects, reading and validating table files,
the guard registry, and compiled machines with their pure core (``transition``)."""
