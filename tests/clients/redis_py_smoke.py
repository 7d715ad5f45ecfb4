"""Caching patterns through redis-py, the most used Python client, against a
running server: hashes, sorted-set leaderboards and rate limits, sets,
lists, blocking pops woken from another connection, SORT, MULTI/EXEC
pipelines and WATCH, pub/sub, Lua scripts and the Lock class; RESP2 and RESP3.

Usage: python3 tests/clients/redis_py_smoke.py PORT   (.ci/run starts Larder
and runs it; the same script passes against redis-server).
"""
import sys
import threading
import time

import redis

PORT = int(sys.argv[1])
for proto in (2, 3):
    r = redis.Redis(port=PORT, protocol=proto, decode_responses=True)
    r.flushall()
    r.hset("user:1", mapping={"name": "Ada", "visits": 1})
    assert r.hgetall("user:1") == {"name": "Ada", "visits": "1"}
    assert r.hincrby("user:1", "visits", 2) == 3
    r.zadd("board", {"ada": 120, "bob": 95, "cy": 130})
    assert [tuple(x) for x in r.zrevrange("board", 0, 1, withscores=True)] == [("cy", 130.0), ("ada", 120.0)]
    assert r.zrank("board", "ada") == 1
    assert r.zscore("board", "bob") == 95.0
    r.sadd("tags", "a", "b", "c")
    assert r.smembers("tags") == {"a", "b", "c"}
    assert r.sinter("tags", "tags") == {"a", "b", "c"}
    r.rpush("q", 1, 2, 3)
    assert r.lrange("q", 0, -1) == ["1", "2", "3"]
    assert r.lpop("q", 2) == ["1", "2"]
    # sliding-window rate limit with a sorted set
    now = time.time()
    p = r.pipeline(transaction=False)
    p.zremrangebyscore("rl", 0, now - 60)
    p.zadd("rl", {f"req{now}": now})
    p.zcard("rl")
    p.expire("rl", 60)
    assert p.execute()[2] == 1
    # blocking pop woken from another connection
    got = {}
    def waiter():
        got["v"] = redis.Redis(port=PORT, protocol=proto, decode_responses=True).blpop(["jobs"], timeout=5)
    t = threading.Thread(target=waiter); t.start(); time.sleep(0.2)
    r.rpush("jobs", "job-1"); t.join()
    assert got["v"] in (("jobs", "job-1"), ["jobs", "job-1"]), got
    assert r.blpop(["nothing"], timeout=0.1) is None
    assert r.sort("q") == ["3"]
    # transactions: MULTI/EXEC pipeline, WATCH-based optimistic locking
    p = r.pipeline(transaction=True)
    p.set("tx", 1).incr("tx").lpush("tx", "x").get("tx")
    res = p.execute(raise_on_error=False)
    assert res[:2] == [True, 2] and isinstance(res[2], redis.ResponseError) and res[3] == "2", res
    other = redis.Redis(port=PORT, protocol=proto, decode_responses=True)
    tries = []
    def bump(pipe):
        v = int(pipe.get("tx"))
        if not tries:
            other.set("tx", 100)  # a concurrent write: the first EXEC fails
        tries.append(v)
        pipe.multi()
        pipe.set("tx", v + 1)
    r.transaction(bump, "tx")
    assert tries == [2, 100] and r.get("tx") == "101", (tries, r.get("tx"))
    # pub/sub: channel and pattern subscribers fed from another connection
    ps = r.pubsub(ignore_subscribe_messages=True)
    ps.subscribe("news")
    ps.psubscribe("alerts.*")
    assert [tuple(x) for x in r.pubsub_numsub("news")] == [("news", 1)], r.pubsub_numsub("news")
    assert r.pubsub_numpat() == 1
    assert r.publish("news", "hello") == 1
    assert r.publish("alerts.fire", "hot") == 1
    msgs = []
    deadline = time.time() + 5
    while len(msgs) < 2 and time.time() < deadline:
        m = ps.get_message(timeout=1)
        if m:
            msgs.append(m)
    assert msgs[0]["channel"] == "news" and msgs[0]["data"] == "hello", msgs
    assert msgs[1]["pattern"] == "alerts.*" and msgs[1]["channel"] == "alerts.fire", msgs
    ps.close()
    # Lua: redis-py's Lock (EVALSHA of registered scripts, NOSCRIPT
    # fallback to EVAL), register_script, and EVAL itself
    lock = r.lock("resource", timeout=5)
    assert lock.acquire(blocking=False)
    assert not r.lock("resource", timeout=5).acquire(blocking=False)
    assert lock.owned() and lock.locked()
    assert lock.extend(10)
    assert 5000 < r.pttl("resource") <= 15000
    assert lock.reacquire()
    lock.release()
    assert not lock.locked() and r.get("resource") is None
    with r.lock("resource2", timeout=5, blocking_timeout=1):
        assert r.exists("resource2") == 1
    assert r.exists("resource2") == 0
    r.script_flush()
    incr_by = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
    assert incr_by(keys=["counter"], args=[5]) == 5 and incr_by(keys=["counter"], args=[2]) == 7
    assert r.eval("return {1, 'two', cjson.encode({a = 1})}", 0) == [1, "two", '{"a":1}']
    assert r.script_exists(incr_by.sha) == [True]
    print("redis-py RESP%d ok" % proto)

# Client-side caching (RESP3 only): redis-py's cache is kept coherent by
# CLIENT TRACKING invalidation pushes. redis-py refuses servers reporting
# a version below 7.4 for this ("to maximize compatibility"), a policy
# that also refuses Redis 7.2; Larder speaks 7.2, so the gate is lowered
# here to exercise the mechanism itself.
from redis.cache import CacheConfig
from redis.connection import CacheProxyConnection

CacheProxyConnection.MIN_ALLOWED_VERSION = "7.2.0"

cached = redis.Redis(port=PORT, protocol=3, decode_responses=True, cache_config=CacheConfig())
writer = redis.Redis(port=PORT, decode_responses=True)
writer.set("csc:key", "v1")
assert cached.get("csc:key") == "v1"
cache = cached.get_cache()
assert cache.size >= 1, cache.size
assert cached.get("csc:key") == "v1"  # from the local cache
writer.set("csc:key", "v2")  # the server pushes an invalidation
deadline = time.time() + 5
while cached.get("csc:key") != "v2":
    assert time.time() < deadline, "client-side cache never invalidated"
    time.sleep(0.05)
writer.delete("csc:key")
deadline = time.time() + 5
while cached.get("csc:key") is not None:
    assert time.time() < deadline, "client-side cache kept a deleted key"
    time.sleep(0.05)
print("redis-py client-side caching ok")

# ACL: connecting as a user with a password; permissions enforced.
admin = redis.Redis(port=PORT, decode_responses=True)
admin.acl_setuser("py-app", enabled=True, passwords=["+s3cret"], keys=["app:*"],
                  commands=["+get", "+set", "+acl|whoami"])
for proto in (2, 3):
    app = redis.Redis(port=PORT, username="py-app", password="s3cret", protocol=proto, decode_responses=True)
    assert app.acl_whoami() == "py-app"
    assert app.set("app:k", "v") and app.get("app:k") == "v"
    try:
        app.set("other", "v")
        raise AssertionError("NOPERM expected")
    except redis.exceptions.NoPermissionError:
        pass
    try:
        redis.Redis(port=PORT, username="py-app", password="wrong", protocol=proto).ping()
        raise AssertionError("WRONGPASS expected")
    except redis.exceptions.AuthenticationError:
        pass
assert admin.acl_getuser("py-app")["keys"] == ["~app:*"] or admin.acl_getuser("py-app")["keys"] == "~app:*"
assert admin.acl_deluser("py-app") == 1
print("redis-py ACL users ok")
