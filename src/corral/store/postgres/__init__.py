"""The PostgreSQL store (psycopg 3 + psycopg_pool): many workers on many machines."""
