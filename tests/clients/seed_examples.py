"""The caching examples of the course Larder started from (the seeds'
chapter 12, sections 10.3 and 10.4), run as written against Larder with
redis-py: the FastAPI cache-aside decorator, external API (weather)
caching with SETEX, and the session store (create with a 24 h TTL,
validate with a sliding refresh, delete on logout).

Usage: python3 tests/clients/seed_examples.py PORT
(.ci/run starts Larder with --enable-debug-command local: time is moved
with DEBUG ADVANCE-CLOCK instead of sleeping.)

The seeds' code is kept as printed (only the connection's port and the
stand-ins for the database and the weather API, which count their calls,
are added).
"""

import json
import functools
import sys
import uuid
from datetime import timedelta

import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient

PORT = int(sys.argv[1])

# ---------------------------------------------------------------------
# 10.3 — Caching Decorator in Python (as in the seeds)

app = FastAPI()

# Connect to Redis
r = redis.Redis(host="localhost", port=PORT, decode_responses=True)

calls = {"db": 0, "weather": 0}


async def fetch_from_db(product_id):
    calls["db"] += 1
    return {"id": product_id, "name": f"product {product_id}", "price": 9.5}


async def call_weather_api(city):
    calls["weather"] += 1
    return {"city": city, "temp": "25°C"}


def cache_result(ttl: int = 3600):
    """
    Decorator that implements lazy (cache-aside) caching.
    ttl: time-to-live in seconds (default 1 hour)
    """
    def decorator(func):
        @functools.wraps(func)
        async def wrapper(*args, **kwargs):
            # Build cache key from function name + args
            cache_key = f"{func.__name__}:{args}:{kwargs}"
            # Step 1: Check cache (Cache Hit)
            cached = r.get(cache_key)
            if cached:
                print(f"[CACHE HIT] {cache_key}")
                return json.loads(cached)
            # Step 2: Cache Miss — execute the actual function
            print(f"[CACHE MISS] calling {func.__name__}...")
            result = await func(*args, **kwargs)
            # Step 3: Store in Redis with TTL
            r.setex(cache_key, ttl, json.dumps(result))
            return result
        return wrapper
    return decorator


# Usage: apply cache decorator to any route handler
@app.get("/products/{product_id}")
@cache_result(ttl=3600)  # cache for 1 hour
async def get_product(product_id: str):
    # Expensive DB query — only runs on cache miss
    product = await fetch_from_db(product_id)
    return product


# TTL-based API Response Caching (e.g. weather)
@app.get("/weather/{city}")
async def get_weather(city: str):
    cache_key = f"weather:{city}"
    # Check cache (TTL = 1 hour, weather doesn't change every minute)
    cached = r.get(cache_key)
    if cached:
        return {"source": "cache", "data": json.loads(cached)}
    # Miss: call external weather API (costs money / rate limited)
    weather_data = await call_weather_api(city)
    # Store for 1 hour
    r.setex(cache_key, 3600, json.dumps(weather_data))
    return {"source": "api", "data": weather_data}


# ---------------------------------------------------------------------
# 10.4 — Session Management with Redis (Python) (as in the seeds)

def create_session(user_id: str, user_data: dict) -> str:
    """Create a session after successful login. Store in Redis."""
    session_id = str(uuid.uuid4())
    session_key = f"session:{session_id}"
    # Store session data with 24-hour TTL
    # TTL ensures sessions auto-expire — no manual cleanup needed
    r.setex(
        session_key,
        timedelta(hours=24),
        json.dumps({"user_id": user_id, **user_data})
    )
    return session_id  # returned to client as cookie/token


def get_session(session_id: str) -> dict | None:
    """
    Validate session on every authenticated API request.
    Redis O(1) lookup — microseconds, not milliseconds.
    """
    session_key = f"session:{session_id}"
    data = r.get(session_key)
    if not data:
        return None  # session expired or invalid
    # Optionally: refresh TTL on activity (sliding window)
    r.expire(session_key, timedelta(hours=24))
    return json.loads(data)


def delete_session(session_id: str):
    """Logout — delete session from Redis immediately."""
    r.delete(f"session:{session_id}")


# ---------------------------------------------------------------------
# The checks.

def advance(seconds):
    """Moves Larder's clock (TTLs) forward."""
    r.execute_command("DEBUG", "ADVANCE-CLOCK", int(seconds * 1000))


def main():
    r.flushall()
    client = TestClient(app)

    # Cache-aside: one database call for two requests; the entry has the
    # decorator's one-hour TTL and is gone (a new miss) after it.
    first = client.get("/products/42").json()
    second = client.get("/products/42").json()
    assert first == second == {"id": "42", "name": "product 42", "price": 9.5}, (first, second)
    assert calls["db"] == 1, calls
    key = "get_product:():{'product_id': '42'}"
    assert 3590 <= r.ttl(key) <= 3600, r.ttl(key)
    advance(3601)
    client.get("/products/42")
    assert calls["db"] == 2, calls

    # Weather: the API is called once an hour, whatever the traffic.
    assert client.get("/weather/delhi").json()["source"] == "api"
    for _ in range(5):
        assert client.get("/weather/delhi").json()["source"] == "cache"
    assert calls["weather"] == 1, calls
    assert 3590 <= r.ttl("weather:delhi") <= 3600
    advance(1800)
    assert client.get("/weather/delhi").json()["source"] == "cache"
    advance(1801)
    assert client.get("/weather/delhi").json()["source"] == "api"
    assert calls["weather"] == 2, calls

    # Sessions: 24 h TTL, refreshed by each validation, deleted on logout.
    sid = create_session("u1", {"name": "Ada"})
    assert r.ttl(f"session:{sid}") == 86400
    assert get_session(sid) == {"user_id": "u1", "name": "Ada"}
    advance(23 * 3600)
    assert get_session(sid) is not None  # still valid, and refreshed
    assert r.ttl(f"session:{sid}") == 86400
    advance(23 * 3600)
    assert get_session(sid) is not None  # 46 h after login: kept alive
    advance(24 * 3600 + 1)
    assert get_session(sid) is None  # idle for a day: expired
    sid2 = create_session("u2", {})
    assert get_session(sid2) == {"user_id": "u2"}
    delete_session(sid2)
    assert get_session(sid2) is None
    print("seed examples ok")


if __name__ == "__main__":
    main()
