//! The `keycard` binary: reads configuration, starts logging, serves until SIGTERM or Ctrl-C.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    keycard::core::telemetry::init();
    let config = match keycard::core::config::Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("keycard: configuration error: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    let command = std::env::args().nth(1);
    let result = match command.as_deref() {
        None | Some("serve") => keycard::core::server::serve(config).await,
        Some("migrate") => keycard::core::server::migrate_only(config).await,
        Some(other) => {
            eprintln!("keycard: unknown command {other:?}; use `keycard`, `keycard serve` or `keycard migrate`");
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
