//! `shop`: the example service.
//!
//! ```text
//! shop --demo [--listen 127.0.0.1:8080]
//!     starts a throwaway PostgreSQL cluster, Larder (in this process) and
//!     the stub weather API, loads the demo data and serves.
//! shop --database "host=/run/postgresql user=shop dbname=shop" \
//!      [--cache redis://127.0.0.1:6379/] [--origin http://127.0.0.1:9000] [--listen 127.0.0.1:8080]
//!     uses servers you run (with no --origin, the stub runs in this process).
//! ```

use anyhow::{bail, Context};
use larder_example_shop::{embedded::EmbeddedLarder, origin::Origin, pg::Postgres, App, Settings};

struct Args {
    demo: bool,
    listen: String,
    database: Option<String>,
    cache: String,
    origin: Option<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        demo: false,
        listen: "127.0.0.1:8080".into(),
        database: None,
        cache: "redis://127.0.0.1:6379/".into(),
        origin: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--demo" => a.demo = true,
            "--listen" => a.listen = value("--listen")?,
            "--database" => a.database = Some(value("--database")?),
            "--cache" => a.cache = value("--cache")?,
            "--origin" => a.origin = Some(value("--origin")?),
            "-h" | "--help" => {
                println!("usage: shop --demo [--listen ADDR]");
                println!("       shop --database CONNINFO [--cache URL] [--origin URL] [--listen ADDR]");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    if !a.demo && a.database.is_none() {
        bail!("give --database CONNINFO, or --demo to start everything here");
    }
    Ok(a)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let mut settings = Settings::default();
    // Kept alive until the end of main; dropping them stops the servers.
    let (_pg, _larder, _origin);
    let (database, cache) = if args.demo {
        let pg = Postgres::start()?;
        let larder = EmbeddedLarder::start(pg.dir(), &[])?;
        let urls = (pg.url("postgres"), larder.url());
        println!("PostgreSQL: {}", urls.0);
        println!("Larder:     {} (redis-cli -p {})", urls.1, larder.port);
        (_pg, _larder) = (Some(pg), Some(larder));
        urls
    } else {
        (_pg, _larder) = (None, None);
        (args.database.clone().unwrap_or_default(), args.cache.clone())
    };
    settings.origin_url = match &args.origin {
        Some(u) => {
            _origin = None;
            u.clone()
        }
        None => {
            let o = Origin::start().await?;
            let u = o.url();
            println!("Weather API stub: {u}");
            _origin = Some(o);
            u
        }
    };
    let app = App::connect(settings, &database, &cache).await?;
    app.migrate().await?;
    let listener = tokio::net::TcpListener::bind(&args.listen).await?;
    println!(
        "Serving on http://{}  (see examples/shop/README.md; Ctrl-C stops)",
        listener.local_addr()?
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = app.serve(listener) => r?,
        _ = tokio::signal::ctrl_c() => println!("stopping"),
        _ = term.recv() => println!("stopping"),
    }
    Ok(())
}
