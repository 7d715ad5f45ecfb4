//! A small web service that uses Larder the way backend services use a
//! cache, in front of PostgreSQL and of a slow external API. Each route is
//! one of the patterns of `docs/use-cases.md`:
//!
//! | route                         | pattern                                        |
//! |-------------------------------|------------------------------------------------|
//! | `GET /products/{id}`          | cache-aside (`GET`, then `SET .. EX` on a miss) |
//! | `PUT /products/{id}`          | write-through (database, then cache)           |
//! | `DELETE /products/{id}`       | invalidation (database, then `DEL`)            |
//! | `GET /reports/spend-by-user`  | cache-aside of a JOIN + GROUP BY, with leases (`LEASE.GET`/`LEASE.SET`) against stampedes |
//! | `POST /orders`                | invalidates the report                         |
//! | `POST /login`, `GET /me`, `POST /logout` | sessions: 24 h TTL, sliding refresh (`GETEX .. EX`), `DEL` |
//! | `GET /weather/{city}`         | external API responses cached for an hour     |
//! | every route but `/stats`      | rate limiting per client IP with `CL.THROTTLE` |
//! | `GET /stats`                  | the counters the tests check                   |
//!
//! Every response that could come from the cache says where it came from
//! in `X-Cache: HIT` or `MISS`.

pub mod embedded;
pub mod origin;
pub mod pg;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use redis::aio::MultiplexedConnection;
use serde::{Deserialize, Serialize};

/// What the service is configured with. The defaults are the figures of
/// the patterns: products cached 5 minutes, the report 1 minute, sessions
/// 24 hours, weather 1 hour, 50 requests per minute per client.
#[derive(Debug, Clone)]
pub struct Settings {
    pub product_ttl_secs: u64,
    pub report_ttl_secs: u64,
    pub session_ttl_secs: u64,
    pub weather_ttl_secs: u64,
    /// Requests allowed per client IP per `rate_period_secs`.
    pub rate_limit: u64,
    pub rate_period_secs: u64,
    /// How long a client that misses the report may take to recompute it
    /// before another client gets the lease.
    pub lease_ms: u64,
    /// Extra milliseconds the report query spends in PostgreSQL
    /// (`pg_sleep`), to make it as slow as a real one over a large table.
    pub report_delay_ms: u64,
    /// Base URL of the external (weather) API.
    pub origin_url: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            product_ttl_secs: 300,
            report_ttl_secs: 60,
            session_ttl_secs: 24 * 3600,
            weather_ttl_secs: 3600,
            rate_limit: 50,
            rate_period_secs: 60,
            lease_ms: 2000,
            report_delay_ms: 0,
            origin_url: String::new(),
        }
    }
}

/// Counters of what the service did, served at `/stats`.
#[derive(Debug, Default)]
pub struct Stats {
    pub cache_hits: AtomicU64,
    pub cache_misses: AtomicU64,
    /// Product rows read from PostgreSQL (cache misses of `GET /products`).
    pub product_db_reads: AtomicU64,
    /// Product rows written to PostgreSQL (updates and deletes).
    pub product_db_writes: AtomicU64,
    /// Runs of the aggregate report query.
    pub report_db_queries: AtomicU64,
    /// Times a report reader was told to wait for another's lease.
    pub lease_waits: AtomicU64,
    /// Calls to the external API.
    pub origin_calls: AtomicU64,
    /// Requests answered 429.
    pub rate_limited: AtomicU64,
    /// Cache operations that failed (the request then went to the source).
    pub cache_errors: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Stats {
    pub fn snapshot(&self) -> serde_json::Value {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        serde_json::json!({
            "cache_hits": g(&self.cache_hits),
            "cache_misses": g(&self.cache_misses),
            "product_db_reads": g(&self.product_db_reads),
            "product_db_writes": g(&self.product_db_writes),
            "report_db_queries": g(&self.report_db_queries),
            "lease_waits": g(&self.lease_waits),
            "origin_calls": g(&self.origin_calls),
            "rate_limited": g(&self.rate_limited),
            "cache_errors": g(&self.cache_errors),
        })
    }
}

/// The service: a PostgreSQL client, a Larder connection and an HTTP client
/// for the external API. Cheap to clone (one per request).
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    db: deadpool_postgres::Pool,
    cache: MultiplexedConnection,
    http: reqwest::Client,
    settings: Settings,
    stats: Stats,
}

impl App {
    /// Connects to PostgreSQL (`database`, a libpq connection string) and
    /// to Larder (`cache`, a `redis://` URL).
    pub async fn connect(settings: Settings, database: &str, cache: &str) -> anyhow::Result<App> {
        let pg: tokio_postgres::Config = database.parse()?;
        let manager = deadpool_postgres::Manager::from_config(
            pg,
            tokio_postgres::NoTls,
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Fast,
            },
        );
        let db = deadpool_postgres::Pool::builder(manager).max_size(16).build()?;
        // Fail now, not at the first request, if the database is not there.
        drop(db.get().await?);
        let cache = redis::Client::open(cache)?.get_multiplexed_async_connection().await?;
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
        Ok(App {
            inner: Arc::new(Inner {
                db,
                cache,
                http,
                settings,
                stats: Stats::default(),
            }),
        })
    }

    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    /// A connection from the pool (16 connections: one slow query does not
    /// hold up the others).
    pub async fn db(&self) -> Result<deadpool_postgres::Object, deadpool_postgres::PoolError> {
        self.inner.db.get().await
    }

    fn cache(&self) -> MultiplexedConnection {
        self.inner.cache.clone()
    }

    fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Creates the schema and the demo data: three users (password
    /// `secret-<name>`), twenty products and 3000 orders.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        self.db().await?.batch_execute(SCHEMA).await?;
        Ok(())
    }

    /// The routes, with the rate limiter in front of all but `/stats`.
    pub fn router(&self) -> Router {
        let api = Router::new()
            .route(
                "/products/{id}",
                get(get_product).put(put_product).delete(delete_product),
            )
            .route("/reports/spend-by-user", get(get_report))
            .route("/orders", post(post_order))
            .route("/login", post(login))
            .route("/me", get(me))
            .route("/logout", post(logout))
            .route("/weather/{city}", get(get_weather))
            .layer(middleware::from_fn_with_state(self.clone(), rate_limit));
        Router::new()
            .route("/stats", get(stats))
            .merge(api)
            .with_state(self.clone())
    }

    /// Serves the routes on `listener` until the future is dropped. The
    /// peer address reaches the rate limiter when `X-Forwarded-For` is
    /// missing.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        let router = self.router();
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await
    }
}

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS users (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    salt TEXT NOT NULL,
    -- Salted SHA-256 keeps the example free of extra dependencies; a real
    -- service stores passwords with argon2 or bcrypt.
    password_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS products (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    price_cents BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS orders (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    amount_cents BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO users (name, salt, password_hash)
SELECT n, s, encode(sha256(convert_to(s || 'secret-' || n, 'UTF8')), 'hex')
FROM (SELECT n, md5(random()::text) AS s FROM unnest(ARRAY['alice', 'bob', 'carol']) AS n) AS t
ON CONFLICT (name) DO NOTHING;
INSERT INTO products (name, price_cents)
SELECT 'Product ' || g, g * 100 FROM generate_series(1, 20) AS g
WHERE NOT EXISTS (SELECT 1 FROM products);
INSERT INTO orders (user_id, amount_cents)
SELECT u.id, 100 + g FROM generate_series(1, 3000) AS g
JOIN users u ON u.name = (ARRAY['alice', 'bob', 'carol'])[1 + g % 3]
WHERE NOT EXISTS (SELECT 1 FROM orders);
"#;

/// A request's failure, answered with its status and a JSON body.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl ApiError {
    fn not_found() -> ApiError {
        ApiError(StatusCode::NOT_FOUND, "not found".into())
    }
    fn unauthorized() -> ApiError {
        ApiError(StatusCode::UNAUTHORIZED, "not logged in".into())
    }
}

impl<E: std::fmt::Display> From<E> for ApiError {
    fn from(e: E) -> ApiError {
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// A JSON body and where it came from (`X-Cache`).
struct Cached {
    body: String,
    hit: bool,
}

impl IntoResponse for Cached {
    fn into_response(self) -> Response {
        let mut r = (
            [(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.body,
        )
            .into_response();
        let x = if self.hit { "HIT" } else { "MISS" };
        r.headers_mut().insert("x-cache", HeaderValue::from_static(x));
        r
    }
}

// ---------------------------------------------------------------------
// Cache-aside, write-through and invalidation: products

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Product {
    pub id: i64,
    pub name: String,
    pub price_cents: i64,
}

impl Product {
    /// A row of `SELECT id, name, price_cents` (or `RETURNING` the same).
    fn from_row(row: &tokio_postgres::Row) -> Product {
        Product {
            id: row.get(0),
            name: row.get(1),
            price_cents: row.get(2),
        }
    }
}

fn product_key(id: i64) -> String {
    format!("product:{id}")
}

/// A read from the cache that degrades to a miss when the cache fails: the
/// database answers instead.
async fn cache_get(app: &App, key: &str) -> Option<String> {
    match redis::cmd("GET")
        .arg(key)
        .query_async::<Option<String>>(&mut app.cache())
        .await
    {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!("cache GET {key}: {e}");
            bump(&app.stats().cache_errors);
            None
        }
    }
}

async fn cache_set(app: &App, key: &str, value: &str, ttl_secs: u64) {
    let res = redis::cmd("SET")
        .arg(key)
        .arg(value)
        .arg("EX")
        .arg(ttl_secs)
        .query_async::<()>(&mut app.cache())
        .await;
    if let Err(e) = res {
        tracing::warn!("cache SET {key}: {e}");
        bump(&app.stats().cache_errors);
    }
}

async fn get_product(State(app): State<App>, Path(id): Path<i64>) -> ApiResult<Cached> {
    let key = product_key(id);
    if let Some(body) = cache_get(&app, &key).await {
        bump(&app.stats().cache_hits);
        return Ok(Cached { body, hit: true });
    }
    bump(&app.stats().cache_misses);
    bump(&app.stats().product_db_reads);
    let row = app
        .db()
        .await?
        .query_opt("SELECT id, name, price_cents FROM products WHERE id = $1", &[&id])
        .await?
        .ok_or_else(ApiError::not_found)?;
    let p = Product::from_row(&row);
    let body = serde_json::to_string(&p)?;
    cache_set(&app, &key, &body, app.settings().product_ttl_secs).await;
    Ok(Cached { body, hit: false })
}

#[derive(Debug, Deserialize)]
pub struct ProductUpdate {
    pub name: Option<String>,
    pub price_cents: Option<i64>,
}

/// Write-through: the database first (the source of truth), then the cache
/// in the same request, so the next reader hits the new value. The entry
/// keeps its TTL in case this process dies between the two writes.
async fn put_product(
    State(app): State<App>,
    Path(id): Path<i64>,
    Json(upd): Json<ProductUpdate>,
) -> ApiResult<Json<Product>> {
    if upd.price_cents.is_some_and(|p| p < 0) {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "price_cents must not be negative".into(),
        ));
    }
    bump(&app.stats().product_db_writes);
    let row = app
        .db()
        .await?
        .query_opt(
            "UPDATE products SET name = COALESCE($2, name), price_cents = COALESCE($3, price_cents), \
             updated_at = now() WHERE id = $1 RETURNING id, name, price_cents",
            &[&id, &upd.name, &upd.price_cents],
        )
        .await?
        .ok_or_else(ApiError::not_found)?;
    let p = Product::from_row(&row);
    cache_set(
        &app,
        &product_key(id),
        &serde_json::to_string(&p)?,
        app.settings().product_ttl_secs,
    )
    .await;
    Ok(Json(p))
}

/// Invalidation: the database, then `DEL`; the next read misses and loads
/// what the database now says.
async fn delete_product(State(app): State<App>, Path(id): Path<i64>) -> ApiResult<StatusCode> {
    bump(&app.stats().product_db_writes);
    let n = app
        .db()
        .await?
        .execute("DELETE FROM products WHERE id = $1", &[&id])
        .await?;
    invalidate(&app, &product_key(id)).await?;
    if n == 0 {
        return Err(ApiError::not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Removes a cache entry after a database change. Unlike a cache read, a
/// failure here fails the request: a stale entry would otherwise be served
/// until its TTL runs out.
async fn invalidate(app: &App, key: &str) -> ApiResult<()> {
    redis::cmd("DEL").arg(key).query_async::<i64>(&mut app.cache()).await?;
    Ok(())
}

// ---------------------------------------------------------------------
// An expensive aggregate, cache-aside with stampede protection

pub const REPORT_KEY: &str = "report:spend-by-user";

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct SpendRow {
    pub name: String,
    pub total_cents: i64,
    pub orders: i64,
}

/// The seeds' query: a JOIN and a GROUP BY over every order.
const REPORT_SQL: &str = "SELECT u.name, SUM(o.amount_cents)::bigint, COUNT(*) \
     FROM users u JOIN orders o ON u.id = o.user_id \
     GROUP BY u.name ORDER BY u.name";

/// The same, slowed down by `pg_sleep` inside the statement, so it still
/// answers from the snapshot taken when it started, as a slow query does.
const SLOW_REPORT_SQL: &str = "WITH pause AS (SELECT pg_sleep($1::float8 / 1000)) \
     SELECT u.name, SUM(o.amount_cents)::bigint, COUNT(*) \
     FROM pause, users u JOIN orders o ON u.id = o.user_id \
     GROUP BY u.name ORDER BY u.name";

async fn run_report(app: &App) -> ApiResult<String> {
    bump(&app.stats().report_db_queries);
    let delay = app.settings().report_delay_ms as f64;
    let rows = if delay > 0.0 {
        app.db().await?.query(SLOW_REPORT_SQL, &[&delay]).await?
    } else {
        app.db().await?.query(REPORT_SQL, &[]).await?
    };
    let report: Vec<SpendRow> = rows
        .iter()
        .map(|r| SpendRow {
            name: r.get(0),
            total_cents: r.get(1),
            orders: r.get(2),
        })
        .collect();
    Ok(serde_json::to_string(&report)?)
}

/// `LEASE.GET`: the value, or the lease to compute it, or how long to wait
/// for the client that holds the lease.
enum Lease {
    Hit(String),
    Miss(i64),
    Wait(u64),
}

async fn lease_get(app: &App, key: &str) -> redis::RedisResult<Lease> {
    let (status, value, n): (String, Option<String>, Option<i64>) = redis::cmd("LEASE.GET")
        .arg(key)
        .arg(app.settings().lease_ms)
        .query_async(&mut app.cache())
        .await?;
    Ok(match (status.as_str(), value, n) {
        ("HIT", Some(v), _) => Lease::Hit(v),
        ("MISS", _, Some(token)) => Lease::Miss(token),
        (_, _, n) => Lease::Wait(n.unwrap_or(10).max(1) as u64),
    })
}

async fn get_report(State(app): State<App>) -> ApiResult<Cached> {
    // However long the lease holders take, a reader waits at most about two
    // leases' time before it computes the report itself.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(2 * app.settings().lease_ms);
    loop {
        let lease = match lease_get(&app, REPORT_KEY).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("cache LEASE.GET: {e}");
                bump(&app.stats().cache_errors);
                bump(&app.stats().cache_misses);
                return Ok(Cached {
                    body: run_report(&app).await?,
                    hit: false,
                });
            }
        };
        match lease {
            Lease::Hit(body) => {
                bump(&app.stats().cache_hits);
                return Ok(Cached { body, hit: true });
            }
            Lease::Miss(token) => {
                bump(&app.stats().cache_misses);
                let body = run_report(&app).await?;
                // Nil when an order came in meanwhile (its DEL cancelled the
                // lease): this request still answers with what it computed,
                // but the cache is not given a report older than that order.
                let stored = redis::cmd("LEASE.SET")
                    .arg(REPORT_KEY)
                    .arg(token)
                    .arg(&body)
                    .arg("EX")
                    .arg(app.settings().report_ttl_secs)
                    .query_async::<Option<String>>(&mut app.cache())
                    .await;
                if let Err(e) = stored {
                    tracing::warn!("cache LEASE.SET: {e}");
                    bump(&app.stats().cache_errors);
                }
                return Ok(Cached { body, hit: false });
            }
            Lease::Wait(ms) => {
                bump(&app.stats().lease_waits);
                if tokio::time::Instant::now() >= deadline {
                    bump(&app.stats().cache_misses);
                    return Ok(Cached {
                        body: run_report(&app).await?,
                        hit: false,
                    });
                }
                tokio::time::sleep(Duration::from_millis(ms.min(20))).await;
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct NewOrder {
    pub user_id: i64,
    pub amount_cents: i64,
}

/// A new order changes the report: insert it, then invalidate the cached
/// report (which also cancels a lease out for it).
async fn post_order(
    State(app): State<App>,
    Json(o): Json<NewOrder>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    if o.amount_cents <= 0 {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "amount_cents must be positive".into(),
        ));
    }
    let row = app
        .db()
        .await?
        .query_opt(
            "INSERT INTO orders (user_id, amount_cents) SELECT id, $2 FROM users WHERE id = $1 RETURNING id",
            &[&o.user_id, &o.amount_cents],
        )
        .await?
        .ok_or_else(|| ApiError(StatusCode::BAD_REQUEST, "no such user".into()))?;
    invalidate(&app, REPORT_KEY).await?;
    let id: i64 = row.get(0);
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": id }))))
}

// ---------------------------------------------------------------------
// Sessions

#[derive(Debug, Deserialize)]
pub struct Login {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Session {
    pub user_id: i64,
    pub username: String,
}

fn session_key(token: &str) -> String {
    format!("session:{token}")
}

/// The session token of a request: `Authorization: Bearer <token>`, or the
/// `session` cookie.
fn session_token(headers: &HeaderMap) -> Option<String> {
    if let Some(t) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(t.trim().to_string());
    }
    let cookies = headers.get(axum::http::header::COOKIE)?.to_str().ok()?;
    cookies
        .split(';')
        .find_map(|c| c.trim().strip_prefix("session=").map(str::to_string))
}

/// Login: checks the password in PostgreSQL, then stores the session in
/// Larder with a 24 h TTL.
async fn login(State(app): State<App>, Json(l): Json<Login>) -> ApiResult<Response> {
    let row = app
        .db()
        .await?
        .query_opt(
            "SELECT id, name FROM users WHERE name = $1 \
             AND password_hash = encode(sha256(convert_to(salt || $2, 'UTF8')), 'hex')",
            &[&l.username, &l.password],
        )
        .await?
        .ok_or(ApiError(StatusCode::UNAUTHORIZED, "wrong user name or password".into()))?;
    let session = Session {
        user_id: row.get(0),
        username: row.get(1),
    };
    let token = format!("{:032x}", rand::random::<u128>());
    let ttl = app.settings().session_ttl_secs;
    redis::cmd("SET")
        .arg(session_key(&token))
        .arg(serde_json::to_string(&session)?)
        .arg("EX")
        .arg(ttl)
        .query_async::<()>(&mut app.cache())
        .await?;
    let cookie = format!("session={token}; Max-Age={ttl}; Path=/; HttpOnly; SameSite=Lax");
    let mut r = Json(serde_json::json!({ "token": token, "expires_in": ttl })).into_response();
    r.headers_mut()
        .insert(axum::http::header::SET_COOKIE, HeaderValue::from_str(&cookie)?);
    Ok(r)
}

/// Every authenticated request reads the session and slides its expiry in
/// one round trip: `GETEX session:<token> EX 86400`.
async fn current_session(app: &App, headers: &HeaderMap) -> ApiResult<Session> {
    let token = session_token(headers).ok_or_else(ApiError::unauthorized)?;
    let json: Option<String> = redis::cmd("GETEX")
        .arg(session_key(&token))
        .arg("EX")
        .arg(app.settings().session_ttl_secs)
        .query_async(&mut app.cache())
        .await?;
    let json = json.ok_or_else(ApiError::unauthorized)?;
    Ok(serde_json::from_str(&json)?)
}

async fn me(State(app): State<App>, headers: HeaderMap) -> ApiResult<Json<Session>> {
    Ok(Json(current_session(&app, &headers).await?))
}

async fn logout(State(app): State<App>, headers: HeaderMap) -> ApiResult<StatusCode> {
    let token = session_token(&headers).ok_or_else(ApiError::unauthorized)?;
    let n: i64 = redis::cmd("DEL")
        .arg(session_key(&token))
        .query_async(&mut app.cache())
        .await?;
    if n == 0 {
        return Err(ApiError::unauthorized());
    }
    Ok(StatusCode::NO_CONTENT)
}

// ---------------------------------------------------------------------
// External API responses

/// A city name as the external API takes it: letters, spaces and dashes.
fn city_ok(city: &str) -> bool {
    !city.is_empty() && city.len() <= 64 && city.chars().all(|c| c.is_alphabetic() || c == ' ' || c == '-')
}

async fn get_weather(State(app): State<App>, Path(city): Path<String>) -> ApiResult<Cached> {
    if !city_ok(&city) {
        return Err(ApiError(StatusCode::BAD_REQUEST, "not a city name".into()));
    }
    let key = format!("weather:{}", city.to_lowercase());
    if let Some(body) = cache_get(&app, &key).await {
        bump(&app.stats().cache_hits);
        return Ok(Cached { body, hit: true });
    }
    bump(&app.stats().cache_misses);
    bump(&app.stats().origin_calls);
    let url = format!(
        "{}/weather/{}",
        app.settings().origin_url.trim_end_matches('/'),
        city.to_lowercase()
    );
    let resp = app.inner.http.get(url).send().await?;
    if !resp.status().is_success() {
        // An error is not cached: the next request asks again.
        return Err(ApiError(
            StatusCode::BAD_GATEWAY,
            format!("weather API answered {}", resp.status()),
        ));
    }
    let body = resp.text().await?;
    cache_set(&app, &key, &body, app.settings().weather_ttl_secs).await;
    Ok(Cached { body, hit: false })
}

// ---------------------------------------------------------------------
// Rate limiting

/// The client's address: the first entry of `X-Forwarded-For` (set by the
/// reverse proxy in front of the service; without one, clients could set
/// it themselves), else the peer address of the connection.
pub fn client_ip(headers: &HeaderMap, peer: Option<SocketAddr>) -> String {
    let forwarded = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|v| !v.is_empty());
    match (forwarded, peer) {
        (Some(ip), _) => ip.to_string(),
        (None, Some(p)) => p.ip().to_string(),
        (None, None) => "unknown".to_string(),
    }
}

/// One `CL.THROTTLE` per request: a rolling limit of `rate_limit` requests
/// per `rate_period_secs` for each client IP, decided atomically in the
/// server (no INCR/EXPIRE pair to be cut in half, no double burst at a
/// window's edge). Allowed requests carry `X-RateLimit-Remaining`; the
/// others get 429 and `Retry-After`. If the cache is down, requests pass.
async fn rate_limit(State(app): State<App>, req: Request, next: Next) -> Response {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let ip = client_ip(req.headers(), peer);
    let s = app.settings();
    let reply = redis::cmd("CL.THROTTLE")
        .arg(format!("ratelimit:{ip}"))
        .arg(s.rate_limit.saturating_sub(1)) // max_burst: the limit is max_burst + 1
        .arg(s.rate_limit)
        .arg(s.rate_period_secs)
        .arg(1)
        .query_async::<Vec<i64>>(&mut app.cache())
        .await;
    let (limited, limit, remaining, retry_after) = match reply.as_deref() {
        Ok([limited, limit, remaining, retry_after, _reset]) => (*limited == 1, *limit, *remaining, *retry_after),
        Ok(other) => {
            tracing::warn!("CL.THROTTLE answered {other:?}");
            bump(&app.stats().cache_errors);
            return next.run(req).await;
        }
        Err(e) => {
            tracing::warn!("CL.THROTTLE: {e}");
            bump(&app.stats().cache_errors);
            return next.run(req).await;
        }
    };
    let mut resp = if limited {
        bump(&app.stats().rate_limited);
        let mut r = (StatusCode::TOO_MANY_REQUESTS, "429 Too Many Requests\n").into_response();
        r.headers_mut()
            .insert("retry-after", HeaderValue::from(retry_after.max(1)));
        r
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    h.insert("x-ratelimit-limit", HeaderValue::from(limit));
    h.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    resp
}

async fn stats(State(app): State<App>) -> Json<serde_json::Value> {
    Json(app.stats().snapshot())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ip_prefers_the_first_forwarded_address() {
        let peer: SocketAddr = "127.0.0.1:5000".parse().expect("addr");
        let mut h = HeaderMap::new();
        assert_eq!(client_ip(&h, Some(peer)), "127.0.0.1");
        assert_eq!(client_ip(&h, None), "unknown");
        h.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.7, 10.0.0.1"));
        assert_eq!(client_ip(&h, Some(peer)), "203.0.113.7");
        h.insert("x-forwarded-for", HeaderValue::from_static(" "));
        assert_eq!(client_ip(&h, Some(peer)), "127.0.0.1");
    }

    #[test]
    fn session_token_from_bearer_or_cookie() {
        let mut h = HeaderMap::new();
        assert_eq!(session_token(&h), None);
        h.insert("cookie", HeaderValue::from_static("theme=dark; session=abc123"));
        assert_eq!(session_token(&h).as_deref(), Some("abc123"));
        h.insert("authorization", HeaderValue::from_static("Bearer xyz"));
        assert_eq!(session_token(&h).as_deref(), Some("xyz"));
    }

    #[test]
    fn city_names() {
        assert!(city_ok("delhi"));
        assert!(city_ok("New York"));
        assert!(city_ok("São Paulo"));
        assert!(!city_ok(""));
        assert!(!city_ok("a/b"));
        assert!(!city_ok(&"x".repeat(65)));
    }
}
