"""PostgreSQL: the order book's tables, repositories, unit of work and the leader lock."""
