# Sourced by scripts/run and scripts/test: puts the set-up tools on PATH.
export PATH="${KEYCARD_TOOLS_DIR:-$HOME/.cache/keycard-tools}/node_modules/.bin:$HOME/.cargo/bin:$PATH"
# Python packages for the tests (aiosmtpd); the mail tests also add this folder themselves.
export PYTHONPATH="${KEYCARD_TOOLS_DIR:-$HOME/.cache/keycard-tools}/python${PYTHONPATH:+:$PYTHONPATH}"
# Incremental compilation only pays off when editing; in CI it just doubles what target/ holds.
if [ "${CI:-}" = "true" ]; then export CARGO_INCREMENTAL=0; fi
