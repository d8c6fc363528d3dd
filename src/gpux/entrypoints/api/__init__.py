"""The REST API: FastAPI app, routes, schemas, and the one table of errors."""
