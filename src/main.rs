//! The `keycard` binary: reads configuration, starts logging, serves until SIGTERM or Ctrl-C.
//! `keycard migrate` only applies migrations; `keycard backup <file>` copies the SQLite database;
//! `keycard admin …` runs an operator command (see `keycard::admin`).

fn main() -> std::process::ExitCode {
    // Before any thread starts allocating: see the function's documentation.
    keycard::core::hashing::return_large_blocks_to_the_system();
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(run()),
        Err(err) => {
            eprintln!("keycard: cannot start the runtime: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> std::process::ExitCode {
    let config = match keycard::core::config::Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("keycard: configuration error: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    keycard::core::telemetry::init(config.log_format);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        None | Some("serve") => keycard::server::serve(config).await,
        Some("migrate") => keycard::server::migrate_only(config).await,
        Some("admin") => return keycard::server::admin(config, &args[1..]).await,
        Some("backup") => return keycard::server::backup(config, &args[1..]).await,
        Some(other) => {
            eprintln!("keycard: unknown command {other:?}; use `keycard`, `keycard serve`, `keycard migrate`, `keycard backup <file>` or `keycard admin`");
            return std::process::ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "keycard stopped");
            std::process::ExitCode::FAILURE
        }
    }
}
