//! The composition root: building the state ([`build_state`]) and the router ([`app`]), serving
//! ([`serve`]), and the `migrate` and `admin` subcommands. Nothing imports this module but the binary
//! and the tests.

use std::sync::Arc;

use axum::{
    extract::State,
    http::StatusCode,
    middleware::{from_fn, from_fn_with_state},
    response::IntoResponse,
    routing::get,
    Router,
};
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tower_http::{limit::RequestBodyLimitLayer, timeout::TimeoutLayer, trace::TraceLayer};
use tower_sessions::{cookie::SameSite, Expiry, SessionManagerLayer};

use crate::app::{shell, App};
use crate::core::page_data::{preload, PageData};
use crate::core::request_id::RequestId;
use crate::core::{config::Config, db::Db, state::AppState, web};
use crate::devices::DevicesView;
use crate::history::HistoryPageView;
use crate::routes::{HEALTHZ, HISTORY_EXPORT_CSV, HISTORY_EXPORT_JSON, METRICS, READYZ};
use crate::security_page::SecurityView;
use crate::sessions::store::KeycardStore;

/// Connects to the database, applies migrations and prepares shared state, on the system clock.
pub async fn build_state(config: Config) -> Result<AppState, Box<dyn std::error::Error + Send + Sync>> {
    build_state_with(config, crate::core::clock::Clock::system()).await
}

/// [`build_state`] on the given clock (a test's manual one).
pub async fn build_state_with(
    config: Config,
    clock: crate::core::clock::Clock,
) -> Result<AppState, Box<dyn std::error::Error + Send + Sync>> {
    let secrets =
        crate::core::secrets::SecretKey::load(config.secret_key.as_ref().map(|k| k.0.as_str()), &config.data_dir)?;
    let mut db = Db::connect(&config).await?;
    db.clock = clock;
    db.migrate().await?;
    crate::core::metrics::install_if_enabled(&config);
    let dummy_hash = crate::accounts::password::off_thread(crate::accounts::password::dummy_hash)
        .await
        .map_err(|_| "could not prepare the dummy password hash")?;
    // From the repository root (the documented way to run it) Cargo.toml holds the site settings;
    // a deployed binary without it relies on LEPTOS_* variables and the compiled-in defaults.
    let manifest = std::path::Path::new("Cargo.toml").exists().then_some("Cargo.toml");
    let mut leptos_options = leptos::config::get_configuration(manifest)?.leptos_options;
    leptos_options.site_root = config.site_root.clone().into();
    leptos_options.site_addr = config.addr;
    // Hashed asset names only when this build has them (a test or debug binary does not), under
    // one name carrying both the bundle's hashes when the build set Leptos' output name (Leptos
    // then reads no hash file per page; see `core::assets`).
    let hashes = crate::core::assets::AssetHashes::of_this_build();
    match hashes.bundle_name().filter(|_| option_env!("LEPTOS_OUTPUT_NAME").is_some()) {
        Some(bundle) => {
            leptos_options.output_name = bundle.into();
            leptos_options.hash_files = false;
        }
        None => leptos_options.hash_files = hashes.present(),
    }
    Ok(AppState::new(crate::core::state::SharedState {
        db,
        config: Arc::new(config),
        dummy_hash: dummy_hash.into(),
        leptos_options,
        secrets: Arc::new(secrets),
        hashing: crate::core::hashing::HashingPool::for_this_machine(),
        detached: crate::core::detached::Detached::default(),
    }))
}

/// A release site folder has only hashed asset names; without `hash.txt` beside the binary, pages
/// would name unhashed files it lacks (unstyled, nothing hydrates). Said once, at start-up.
fn warn_if_hashes_are_missing(config: &Config, hashes_present: bool) {
    let pkg = std::path::Path::new(&config.site_root).join(crate::routes::ASSETS_PREFIX.trim_matches('/'));
    let plain_css = pkg.join(format!("{}.css", crate::core::assets::OUTPUT_NAME));
    let hashed_site = std::fs::read_dir(&pkg)
        .is_ok_and(|files| files.filter_map(Result::ok).any(|f| f.file_name().to_string_lossy().ends_with(".css")))
        && !plain_css.exists();
    if hashed_site && !hashes_present {
        tracing::warn!(
            site = %pkg.display(),
            "the site folder has hashed asset names but hash.txt is not beside the binary: pages will name \
             files that do not exist (deploy hash.txt from the same build next to the keycard binary)"
        );
    }
}

/// The whole application as an axum router; tests drive it in-process.
pub fn app(state: AppState) -> Router {
    let mut routes = generate_route_list(App);
    // Shared: axum clones a route's handler for every request it serves.
    let leptos_options = Arc::new(state.leptos_options.clone());
    let store = KeycardStore::new(state.clone());
    let sessions = SessionManagerLayer::new(store)
        .with_name(state.config.cookie_name())
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_secure(state.config.secure_cookies)
        .with_expiry(Expiry::OnSessionEnd);
    // Pages whose data a route layer reads before the render (`core::page_data`) get a router
    // each, so a layer runs for its page alone.
    let preloaded_pages = Router::new()
        .merge(preloaded_page::<DevicesView>(&state, &leptos_options, &mut routes, crate::routes::DEVICES))
        .merge(preloaded_page::<HistoryPageView>(&state, &leptos_options, &mut routes, crate::routes::HISTORY))
        .merge(preloaded_page::<SecurityView>(&state, &leptos_options, &mut routes, crate::routes::SECURITY));
    let pages = Router::new()
        .route(HEALTHZ, get(healthz))
        .route(READYZ, get(readyz))
        .route(HISTORY_EXPORT_JSON, get(crate::history::export::json))
        .route(HISTORY_EXPORT_CSV, get(crate::history::export::csv))
        .leptos_routes(&state, routes, {
            let leptos_options = leptos_options.clone();
            move || shell(leptos::config::LeptosOptions::clone(&leptos_options))
        })
        .merge(preloaded_pages)
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(tower::util::option_layer(
            state.config.render_retry.then(|| from_fn(crate::core::stalled_renders::retry_stalled_renders)),
        ))
        .layer(from_fn(crate::sessions::guard::guard_pages))
        .layer(from_fn_with_state(state.clone(), crate::core::error_links::drop_forged_error_links))
        .layer(from_fn_with_state(state.clone(), crate::core::error_links::sign_error_redirects))
        .layer(from_fn_with_state(state.clone(), crate::sessions::principal::load))
        .layer(sessions)
        .layer(from_fn(web::server_fn_guard))
        .layer(from_fn(web::refuse_cross_site));
    Router::new()
        .merge(crate::core::assets::router(
            std::path::Path::new(&state.config.site_root),
            crate::core::assets::AssetHashes::of_this_build().clone(),
        ))
        .merge(app_api(&state))
        .route(METRICS, get(crate::metrics_page::with_token))
        .route(crate::routes::PASSKEYS_SCRIPT, get(crate::passkeys::script::serve))
        .merge(pages)
        .layer(from_fn_with_state(state.clone(), web::client_ip))
        .layer(RequestBodyLimitLayer::new(state.config.max_body_bytes))
        // Outside the body limit and every handler, so a slowly sent body counts too.
        .layer(request_time_limit(state.config.request_timeout))
        .layer(axum::middleware::map_response(timeout_page))
        .layer(from_fn(web::error_pages))
        .layer(from_fn_with_state(state.clone(), web::security_headers))
        .layer(from_fn(web::mark_uncompressed))
        // Pages and JSON; the static files are served precompressed and pass through untouched.
        .layer(web::compression())
        .layer(axum::middleware::map_response(web::unmark_uncompressed))
        .layer(tower::util::option_layer(
            crate::core::metrics::enabled(&state.config).then(|| from_fn(crate::core::metrics::time_requests)),
        ))
        .layer(
            // One line per request: its id, method, path (never the query), status, latency.
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<axum::body::Body>| {
                    let id = req.extensions().get::<RequestId>().map(|id| id.0.as_str()).unwrap_or_default();
                    tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
                })
                .on_request(())
                .on_response(tower_http::trace::DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(from_fn(crate::core::request_id::assign))
        .with_state(state)
}

/// The page at `path`, taken out of `routes` and served by a router of its own behind its route
/// layer (`core::page_data::preload::<T>`, which reads the page's data `T` before the render).
/// Rendered as `leptos_routes` renders an `SsrMode::Async` page (`leptos_routes` itself would
/// register every server function a second time).
fn preloaded_page<T: PageData>(
    state: &AppState,
    leptos_options: &Arc<leptos::config::LeptosOptions>,
    routes: &mut Vec<AxumRouteListing>,
    path: &str,
) -> Router<AppState> {
    let (page, rest): (Vec<_>, Vec<_>) = std::mem::take(routes).into_iter().partition(|route| route.path() == path);
    *routes = rest;
    let context_state = state.clone();
    let leptos_options = leptos_options.clone();
    let render = leptos_axum::render_app_async_with_context(
        move || {
            leptos::prelude::provide_context(context_state.clone());
            leptos::prelude::provide_context(leptos_router::Method::Get);
        },
        move || shell(leptos::config::LeptosOptions::clone(&leptos_options)),
    );
    Router::new()
        .leptos_routes_with_handler(page, move |request: axum::extract::Request| render(request))
        .route_layer(from_fn_with_state(state.clone(), preload::<T>))
}

/// The OAuth endpoints and the app API: outside the session layer (no cookie is read or set)
/// and the cross-site checks (nothing here acts on ambient credentials), with CORS for the
/// configured origins only.
fn app_api(state: &AppState) -> Router<AppState> {
    use crate::apps::{oauth, rest};
    use crate::routes::{API_ME, API_OPENAPI, API_SESSION, API_SESSIONS, OAUTH_DEVICE, OAUTH_JWKS, OAUTH_TOKEN};
    use axum::http::{header, HeaderValue, Method};
    use axum::routing::{delete, post};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let origins: Vec<HeaderValue> =
        state.config.cors_origins.iter().filter_map(|origin| HeaderValue::from_str(origin).ok()).collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(std::time::Duration::from_secs(600));
    Router::new()
        .route(OAUTH_DEVICE, post(oauth::device_authorization))
        .route(OAUTH_TOKEN, post(oauth::token))
        .route(OAUTH_JWKS, get(crate::oidc::endpoints::jwks))
        .route(API_ME, get(rest::me))
        .route(API_SESSIONS, get(rest::sessions))
        .route(API_SESSION, delete(rest::sign_out_session))
        .route(API_OPENAPI, get(rest::openapi))
        .route("/api/v1/{*rest}", axum::routing::any(rest::not_found))
        .layer(axum::middleware::map_response(rest::method_not_allowed_as_json))
        .layer(cors)
}

/// `KEYCARD_REQUEST_TIMEOUT_SECS`: a request whose answer (including reading its body) is not
/// ready within `limit` is dropped and answered 503 Service Unavailable. 503 rather than 408:
/// browsers silently resend a request answered 408 on a reused connection, even a POST.
pub fn request_time_limit(limit: std::time::Duration) -> TimeoutLayer {
    TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, limit)
}

/// The time limit's answer has no body; people get a page saying what happened.
async fn timeout_page(response: axum::response::Response) -> axum::response::Response {
    let bare = !response.headers().contains_key(axum::http::header::CONTENT_TYPE);
    if response.status() == StatusCode::SERVICE_UNAVAILABLE && bare {
        return web::error_page(StatusCode::SERVICE_UNAVAILABLE, "That took too long. Try again in a moment.");
    }
    response
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(err) => {
            tracing::warn!(error = %err, "database not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// Serves until SIGTERM or Ctrl-C, then finishes in-flight requests and stops background tasks.
pub async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let addr = config.addr;
    let state = build_state(config).await?;
    // Only when serving pages: the admin commands' output stays theirs alone.
    warn_if_hashes_are_missing(&state.config, crate::core::assets::AssetHashes::of_this_build().present());
    if addr.ip().is_unspecified() && state.config.public_url == format!("http://{addr}") {
        tracing::warn!(
            %addr,
            "listening on every interface without KEYCARD_PUBLIC_URL: links in mail and the /connect address \
             will name {addr}; set KEYCARD_PUBLIC_URL to the address people use"
        );
    }
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, database = if state.db.is_sqlite { "sqlite" } else { "postgres" }, "keycard listening");
    let (stop_background, stop) = tokio::sync::watch::channel(false);
    let sweeper = crate::sessions::sweeper::spawn_with_history(
        state.db.clone(),
        state.config.session_sweep_interval,
        state.config.history_retention_days as i64 * 24 * 3600,
        stop.clone(),
    );
    let app_token_purge = spawn_app_token_purge(state.db.clone(), state.config.session_sweep_interval, stop.clone());
    // Only with SMTP configured; otherwise no outbox rows are written and nothing is sent.
    let mail_worker = match &state.config.mail {
        Some(mail) => {
            let transport = crate::mail::transport::Transport::new(mail, state.secrets.clone())?;
            Some(crate::mail::worker::spawn(state.db.clone(), transport, crate::mail::worker::DEFAULT_INTERVAL, stop))
        }
        None => {
            tracing::info!("mail is off (KEYCARD_SMTP_URL unset): notices stay in the app");
            None
        }
    };
    let metrics_listener = match state.config.metrics_addr {
        Some(metrics_addr) => Some(serve_metrics(metrics_addr, state.clone(), stop_background.subscribe()).await?),
        None => None,
    };
    let limits = crate::core::listener::ConnectionLimits::from_config(&state.config);
    let detached = state.detached.clone();
    let router = app(state);
    let served = crate::core::listener::serve_connections(listener, router, limits, shutdown_signal()).await;
    // Mails that requests already answered for are written before the process ends.
    detached.settled().await;
    let _ = stop_background.send(true);
    let _ = sweeper.await;
    let _ = app_token_purge.await;
    if let Some(mail_worker) = mail_worker {
        let _ = mail_worker.await;
    }
    if let Some(metrics_listener) = metrics_listener {
        let _ = metrics_listener.await;
    }
    served?;
    tracing::info!("keycard stopped");
    Ok(())
}

/// `KEYCARD_METRICS_ADDR`: `/metrics` alone, without a token, on its own address.
async fn serve_metrics(
    addr: std::net::SocketAddr,
    state: AppState,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "metrics listening");
    let router = Router::new().route(METRICS, get(crate::metrics_page::page)).with_state(state);
    Ok(tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|stop| *stop).await;
        };
        if let Err(err) = axum::serve(listener, router).with_graceful_shutdown(stopped).await {
            tracing::warn!(error = %err, "metrics listener stopped");
        }
    }))
}

/// Expired app tokens and pairing requests, and signing keys no longer published, go at the pace
/// of the session sweep.
fn spawn_app_token_purge(
    db: Db,
    interval: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = crate::core::periodic::every(interval);
        while crate::core::periodic::next_turn(&mut ticks, &mut stop).await {
            let purged = match db.pool.acquire().await {
                Ok(mut conn) => {
                    let now = db.clock.now();
                    match crate::apps::service::purge_expired(&mut conn, now).await {
                        Ok(_) => crate::oidc::keys::purge_unpublished(&mut conn, now).await,
                        Err(err) => Err(err),
                    }
                }
                Err(err) => Err(err),
            };
            if let Err(err) = purged {
                tracing::warn!(error = %err, "app token purge failed; will retry");
            }
        }
    })
}

/// `keycard migrate`: applies migrations and exits.
pub async fn migrate_only(config: Config) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let db = Db::connect(&config).await?;
    db.migrate().await?;
    tracing::info!("migrations applied");
    Ok(())
}

/// `keycard backup <file>`: an online, consistent copy of the SQLite database (not of the secret
/// key, which is kept apart on purpose).
pub async fn backup(config: Config, args: &[String]) -> std::process::ExitCode {
    let [file] = args else {
        eprintln!("usage: keycard backup <file>   (a new file; the SQLite database is copied into it)");
        return std::process::ExitCode::from(2);
    };
    let copied = async {
        let db = Db::connect(&config).await?;
        db.backup_sqlite(std::path::Path::new(file)).await?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    };
    match copied.await {
        Ok(()) => {
            println!(
                "copied the database to {file}\nThe secret key is not in this copy: back up KEYCARD_SECRET_KEY (or \
                 secret.key in the data directory) separately, and keep both."
            );
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("keycard backup: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `keycard admin …`: applies migrations, runs the command, prints its outcome. Exit status 0 when
/// done, 1 when refused or failed (nothing changed), 2 for a command line that is not a command.
pub async fn admin(config: Config, args: &[String]) -> std::process::ExitCode {
    use crate::admin::{run, AdminCommand, NotACommand};
    let command = match AdminCommand::parse(args) {
        Ok(command) => command,
        Err(NotACommand::Help(text)) => {
            print!("{text}");
            return std::process::ExitCode::SUCCESS;
        }
        Err(NotACommand::Usage(text)) => {
            eprint!("{text}");
            return std::process::ExitCode::from(2);
        }
    };
    let outcome = async {
        let state = build_state(config).await?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(run(&state, &command, read_password).await?)
    };
    match outcome.await {
        Ok(text) => {
            print!("{text}");
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("keycard admin: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The new account's password: typed twice at a prompt that does not echo, or one line of
/// standard input when it is not a terminal (a pipe from a password manager or a secret store).
fn read_password() -> std::io::Result<String> {
    use std::io::{BufRead, IsTerminal};
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Password again: ")?;
        if first != again {
            return Err(std::io::Error::other("the two passwords differ"));
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
