//! The caching patterns of `docs/use-cases.md`, end to end: the example
//! service over HTTP, a real PostgreSQL cluster, Larder over TCP and the
//! stub weather API, each test with its own. Every scenario is proved with
//! counts (cache hits and misses, database queries, origin calls, 429s);
//! time moves with Larder's clock, never by sleeping.

use std::time::Duration;

use larder_example_shop::{embedded::EmbeddedLarder, origin::Origin, pg::Postgres, App, Settings, REPORT_KEY};
use reqwest::StatusCode;
use serde_json::Value;

struct Env {
    // Dropped in reverse: the service's task first, PostgreSQL last.
    _pg: Postgres,
    larder: EmbeddedLarder,
    origin: Origin,
    app: App,
    base: String,
    http: reqwest::Client,
    redis: redis::aio::MultiplexedConnection,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Env {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Without PostgreSQL installed these tests are skipped, unless
/// `LARDER_REQUIRE_POSTGRES` is set (`.ci/run` installs it and sets it).
fn skip() -> bool {
    if larder_example_shop::pg::installed() || std::env::var_os("LARDER_REQUIRE_POSTGRES").is_some() {
        return false;
    }
    eprintln!("skipped: PostgreSQL is not installed (apt-get install postgresql)");
    true
}

/// The scenario's environment, or return from the test (skipped).
macro_rules! env {
    ($settings:expr) => {
        if skip() {
            return;
        } else {
            Env::with($settings).await
        }
    };
}

impl Env {
    async fn with(mut settings: Settings) -> Env {
        let pg = Postgres::start().expect("PostgreSQL starts");
        let larder = EmbeddedLarder::start(pg.dir(), &[]).expect("Larder starts");
        let origin = Origin::start().await.expect("stub origin starts");
        settings.origin_url = origin.url();
        let app = App::connect(settings, &pg.url("postgres"), &larder.url())
            .await
            .expect("connect");
        app.migrate().await.expect("schema and demo data");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let served = app.clone();
        let server = tokio::spawn(async move {
            served.serve(listener).await.expect("serve");
        });
        let redis = redis::Client::open(larder.url())
            .expect("url")
            .get_multiplexed_async_connection()
            .await
            .expect("redis connection");
        Env {
            _pg: pg,
            larder,
            origin,
            app,
            base,
            http: reqwest::Client::new(),
            redis,
            server,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.expect("request")
    }

    /// GET, expecting 200: the body and the `X-Cache` header.
    async fn get_json(&self, path: &str) -> (Value, String) {
        let r = self.get(path).await;
        assert_eq!(r.status(), StatusCode::OK, "GET {path}");
        let x = header(&r, "x-cache");
        (r.json().await.expect("json"), x)
    }

    async fn stats(&self) -> Value {
        self.get("/stats").await.json().await.expect("stats json")
    }

    async fn stat(&self, name: &str) -> u64 {
        self.stats().await[name]
            .as_u64()
            .unwrap_or_else(|| panic!("no stat {name}"))
    }

    async fn ttl(&self, key: &str) -> i64 {
        redis::cmd("TTL")
            .arg(key)
            .query_async(&mut self.redis.clone())
            .await
            .expect("TTL")
    }

    async fn cached(&self, key: &str) -> Option<String> {
        redis::cmd("GET")
            .arg(key)
            .query_async(&mut self.redis.clone())
            .await
            .expect("GET")
    }

    fn advance(&self, secs: u64) {
        self.larder.advance(Duration::from_secs(secs));
    }
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_cache_aside_hits_after_one_miss_and_expires_with_its_ttl() {
    let env = env!(Settings::default());
    let (p, x) = env.get_json("/products/7").await;
    assert_eq!(x, "MISS");
    assert_eq!(p["name"], "Product 7");
    assert_eq!(p["price_cents"], 700);
    let ttl = env.ttl("product:7").await;
    assert!((295..=300).contains(&ttl), "TTL {ttl}");
    for _ in 0..9 {
        let (q, x) = env.get_json("/products/7").await;
        assert_eq!(x, "HIT");
        assert_eq!(q, p);
    }
    let s = env.stats().await;
    assert_eq!(
        (s["cache_misses"].as_u64(), s["cache_hits"].as_u64()),
        (Some(1), Some(9))
    );
    assert_eq!(s["product_db_reads"], 1, "ten reads, one query");

    // Past its TTL the entry is gone and the next read goes to the database.
    env.advance(301);
    assert_eq!(env.cached("product:7").await, None);
    let (_, x) = env.get_json("/products/7").await;
    assert_eq!(x, "MISS");
    assert_eq!(env.stat("product_db_reads").await, 2);

    // A product that does not exist is a 404 and leaves nothing cached.
    assert_eq!(env.get("/products/999").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(env.cached("product:999").await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_update_writes_through_and_delete_invalidates() {
    let env = env!(Settings::default());
    let (_, x) = env.get_json("/products/3").await;
    assert_eq!(x, "MISS");

    let r = env
        .http
        .put(env.url("/products/3"))
        .json(&serde_json::json!({ "price_cents": 1234 }))
        .send()
        .await
        .expect("PUT");
    assert_eq!(r.status(), StatusCode::OK);
    // Both stores hold the new price when the request returns.
    let row = env
        .app
        .db()
        .await
        .expect("db")
        .query_one("SELECT price_cents FROM products WHERE id = 3", &[])
        .await
        .expect("select");
    assert_eq!(row.get::<_, i64>(0), 1234);
    let cached: Value = serde_json::from_str(&env.cached("product:3").await.expect("cached")).expect("json");
    assert_eq!(cached["price_cents"], 1234);
    assert!(env.ttl("product:3").await > 0, "write-through entries keep a TTL");

    // The next read is a hit with the new value: no database read.
    let (p, x) = env.get_json("/products/3").await;
    assert_eq!((x.as_str(), p["price_cents"].as_i64()), ("HIT", Some(1234)));
    assert_eq!(env.stat("product_db_reads").await, 1);

    // Bad input is refused before any write.
    let r = env
        .http
        .put(env.url("/products/3"))
        .json(&serde_json::json!({ "price_cents": -1 }))
        .send()
        .await
        .expect("PUT");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(env.stat("product_db_writes").await, 1);

    // Delete: database, then DEL; the next read misses and finds nothing.
    let r = env.http.delete(env.url("/products/3")).send().await.expect("DELETE");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(env.cached("product:3").await, None);
    assert_eq!(env.get("/products/3").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(env.stat("product_db_reads").await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregate_report_is_cached_invalidated_by_orders_and_expires() {
    let env = env!(Settings::default());
    let (first, x) = env.get_json("/reports/spend-by-user").await;
    assert_eq!(x, "MISS");
    let alice = |v: &Value| {
        v.as_array()
            .expect("rows")
            .iter()
            .find(|r| r["name"] == "alice")
            .cloned()
            .expect("alice")
    };
    let before = alice(&first);
    assert_eq!(before["orders"], 1000);
    let ttl = env.ttl(REPORT_KEY).await;
    assert!((55..=60).contains(&ttl), "TTL {ttl}");
    for _ in 0..4 {
        let (v, x) = env.get_json("/reports/spend-by-user").await;
        assert_eq!((v, x.as_str()), (first.clone(), "HIT"));
    }
    assert_eq!(env.stat("report_db_queries").await, 1);

    // A new order invalidates the report: the next read recomputes it and
    // sees the order.
    let alice_id: i64 = env
        .app
        .db()
        .await
        .expect("db")
        .query_one("SELECT id FROM users WHERE name = 'alice'", &[])
        .await
        .expect("alice")
        .get(0);
    let r = env
        .http
        .post(env.url("/orders"))
        .json(&serde_json::json!({ "user_id": alice_id, "amount_cents": 500 }))
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(env.cached(REPORT_KEY).await, None);
    let (after, x) = env.get_json("/reports/spend-by-user").await;
    assert_eq!(x, "MISS");
    let a = alice(&after);
    assert_eq!(a["orders"], 1001);
    assert_eq!(
        a["total_cents"].as_i64(),
        before["total_cents"].as_i64().map(|t| t + 500)
    );
    assert_eq!(env.stat("report_db_queries").await, 2);

    // The TTL bounds staleness on its own too.
    env.advance(61);
    let (_, x) = env.get_json("/reports/spend-by-user").await;
    assert_eq!(x, "MISS");
    let s = env.stats().await;
    assert_eq!(s["report_db_queries"], 3);
    assert_eq!(
        (s["cache_hits"].as_u64(), s["cache_misses"].as_u64()),
        (Some(4), Some(3))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_last_24h_slide_on_use_and_end_on_logout() {
    let env = env!(Settings::default());
    let login = |password: &'static str| {
        env.http
            .post(env.url("/login"))
            .json(&serde_json::json!({ "username": "bob", "password": password }))
            .send()
    };
    assert_eq!(login("wrong").await.expect("login").status(), StatusCode::UNAUTHORIZED);
    let r = login("secret-bob").await.expect("login");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(header(&r, "set-cookie").contains("Max-Age=86400"));
    let token = r.json::<Value>().await.expect("json")["token"]
        .as_str()
        .expect("token")
        .to_string();
    let key = format!("session:{token}");
    assert_eq!(env.ttl(&key).await, 86400);

    let me = |auth: String| env.http.get(env.url("/me")).header("authorization", auth).send();
    let bearer = format!("Bearer {token}");
    let r = me(bearer.clone()).await.expect("me");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.expect("json")["username"], "bob");
    // The cookie works as well as the header.
    let r = env
        .http
        .get(env.url("/me"))
        .header("cookie", format!("session={token}"))
        .send()
        .await
        .expect("me");
    assert_eq!(r.status(), StatusCode::OK);

    // Sliding expiry: used every 23 hours, the session outlives 24 hours,
    // and each use puts its TTL back to 24 h.
    for _ in 0..3 {
        env.advance(23 * 3600);
        assert_eq!(env.ttl(&key).await, 3600);
        assert_eq!(me(bearer.clone()).await.expect("me").status(), StatusCode::OK);
        assert_eq!(env.ttl(&key).await, 86400);
    }
    // Unused for 24 hours, it is gone.
    env.advance(24 * 3600 + 1);
    assert_eq!(me(bearer.clone()).await.expect("me").status(), StatusCode::UNAUTHORIZED);
    assert_eq!(env.cached(&key).await, None);

    // Logout deletes the session at once.
    let r = login("secret-bob").await.expect("login");
    let token = r.json::<Value>().await.expect("json")["token"]
        .as_str()
        .expect("token")
        .to_string();
    let bearer = format!("Bearer {token}");
    assert_eq!(me(bearer.clone()).await.expect("me").status(), StatusCode::OK);
    let r = env
        .http
        .post(env.url("/logout"))
        .header("authorization", bearer.clone())
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(env.cached(&format!("session:{token}")).await, None);
    assert_eq!(me(bearer).await.expect("me").status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        env.http.get(env.url("/me")).send().await.expect("me").status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_api_answers_are_cached_for_an_hour() {
    let env = env!(Settings::default());
    let (first, x) = env.get_json("/weather/delhi").await;
    assert_eq!(x, "MISS");
    for _ in 0..9 {
        let (v, x) = env.get_json("/weather/Delhi").await;
        assert_eq!((v, x.as_str()), (first.clone(), "HIT"));
    }
    assert_eq!(env.origin.calls(), 1, "ten requests, one call to the API");
    assert_eq!(env.ttl("weather:delhi").await, 3600);
    let (_, x) = env.get_json("/weather/paris").await;
    assert_eq!(x, "MISS");
    assert_eq!(env.origin.calls(), 2);

    // Still cached just before the hour, fetched again after it.
    env.advance(3599);
    let (_, x) = env.get_json("/weather/delhi").await;
    assert_eq!(x, "HIT");
    env.advance(2);
    let (v, x) = env.get_json("/weather/delhi").await;
    assert_eq!(x, "MISS");
    assert_eq!(v["call"], 3, "the API's third call");
    assert_eq!(env.origin.calls(), 3);
    assert_eq!(env.stat("origin_calls").await, 3);

    assert_eq!(env.get("/weather/a%2Fb").await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(env.origin.calls(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_answers_429_at_request_51_per_client_ip() {
    let env = env!(Settings::default());
    let from = |ip: &'static str| {
        env.http
            .get(env.url("/products/1"))
            .header("x-forwarded-for", ip)
            .send()
    };
    for i in 1..=50u64 {
        let r = from("203.0.113.7").await.expect("request");
        assert_eq!(r.status(), StatusCode::OK, "request {i}");
        assert_eq!(header(&r, "x-ratelimit-remaining"), (50 - i).to_string(), "request {i}");
        assert_eq!(header(&r, "x-ratelimit-limit"), "50");
    }
    let r = from("203.0.113.7").await.expect("request 51");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = header(&r, "retry-after")
        .parse()
        .expect("Retry-After is a number of seconds");
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(header(&r, "x-ratelimit-remaining"), "0");
    assert!(r.text().await.expect("body").contains("429 Too Many Requests"));
    // The proxy's own address after the client's is ignored.
    let r = from("203.0.113.7, 10.0.0.1").await.expect("request");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(env.stat("rate_limited").await, 2);

    // Other clients are not affected; without the header the peer address
    // (127.0.0.1) is the client.
    let r = from("198.51.100.1").await.expect("request");
    assert_eq!(
        (r.status(), header(&r, "x-ratelimit-remaining")),
        (StatusCode::OK, "49".to_string())
    );
    let r = env.get("/products/1").await;
    assert_eq!(
        (r.status(), header(&r, "x-ratelimit-remaining")),
        (StatusCode::OK, "49".to_string())
    );

    // The limiter's key always has a TTL, and the limit refills as time
    // passes (a rolling window): one request after Retry-After...
    let ttl = env.ttl("ratelimit:203.0.113.7").await;
    assert!((1..=60).contains(&ttl), "TTL {ttl}");
    env.advance(retry_after);
    assert_eq!(from("203.0.113.7").await.expect("request").status(), StatusCode::OK);
    assert_eq!(
        from("203.0.113.7").await.expect("request").status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // ... and the whole burst after a minute, with the key gone by then.
    env.advance(60);
    assert_eq!(env.cached("ratelimit:203.0.113.7").await, None);
    for i in 1..=50u64 {
        assert_eq!(
            from("203.0.113.7").await.expect("request").status(),
            StatusCode::OK,
            "request {i}"
        );
    }
    assert_eq!(
        from("203.0.113.7").await.expect("request").status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // /stats is not limited.
    for _ in 0..60 {
        assert_eq!(env.get("/stats").await.status(), StatusCode::OK);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stampede_of_100_misses_makes_one_database_query() {
    // The report query takes 300 ms, long enough for all 100 requests to
    // miss before the first answer is stored.
    let env = env!(Settings {
        report_delay_ms: 300,
        ..Settings::default()
    });
    let mut tasks = Vec::new();
    for i in 0..100 {
        // A hundred different clients (the rate limit is per client).
        let req = env
            .http
            .get(env.url("/reports/spend-by-user"))
            .header("x-forwarded-for", format!("10.1.0.{i}"));
        tasks.push(tokio::spawn(async move {
            let r = req.send().await.expect("request");
            assert_eq!(r.status(), StatusCode::OK);
            (header(&r, "x-cache"), r.text().await.expect("body"))
        }));
    }
    let mut bodies = Vec::new();
    let mut misses = 0;
    for t in tasks {
        let (x, body) = t.await.expect("task");
        misses += usize::from(x == "MISS");
        bodies.push(body);
    }
    assert!(bodies.iter().all(|b| b == &bodies[0]), "everyone got the same report");
    let s = env.stats().await;
    assert_eq!(
        s["report_db_queries"], 1,
        "one origin call for 100 concurrent misses: {s}"
    );
    assert_eq!(misses, 1);
    assert_eq!(s["cache_hits"], 99);
    assert!(s["lease_waits"].as_u64() > Some(0), "the others waited: {s}");
    assert_eq!(env.cached(REPORT_KEY).await.as_deref(), Some(bodies[0].as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_during_the_recompute_keeps_the_stale_report_out() {
    // The lease holder computes for 500 ms; an order lands meanwhile. Its DEL
    // cancels the lease, so the report computed before the order is not
    // stored, and the next reader sees the order.
    let env = env!(Settings {
        report_delay_ms: 500,
        ..Settings::default()
    });
    let slow = {
        let req = env.http.get(env.url("/reports/spend-by-user"));
        tokio::spawn(async move { req.send().await.expect("request").text().await.expect("body") })
    };
    // Wait until the lease is out (the holder is inside its query).
    for _ in 0..200 {
        if env.stat("report_db_queries").await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let carol_id: i64 = env
        .app
        .db()
        .await
        .expect("db")
        .query_one("SELECT id FROM users WHERE name = 'carol'", &[])
        .await
        .expect("carol")
        .get(0);
    let r = env
        .http
        .post(env.url("/orders"))
        .json(&serde_json::json!({ "user_id": carol_id, "amount_cents": 999 }))
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), StatusCode::CREATED);
    let stale = slow.await.expect("task");
    assert_eq!(env.cached(REPORT_KEY).await, None, "the stale report was not stored");
    let (fresh, x) = env.get_json("/reports/spend-by-user").await;
    assert_eq!(x, "MISS");
    let carol = |v: &Value| {
        v.as_array()
            .expect("rows")
            .iter()
            .find(|r| r["name"] == "carol")
            .cloned()
            .expect("carol")
    };
    let stale: Value = serde_json::from_str(&stale).expect("json");
    assert_eq!(carol(&stale)["orders"], 1000);
    assert_eq!(carol(&fresh)["orders"], 1001);
}
