"""In-memory fakes of gpux's own ports, for fast unit tests of the service layer.

Each fake subclasses the port it stands for (so mypy holds it to the Protocol) and is held to
the same contract suite as the PostgreSQL adapter (`tests/integration/roundstore/`).
"""
