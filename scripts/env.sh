# Sourced by scripts/run and scripts/test: puts the set-up tools on PATH.
export PATH="${KEYCARD_TOOLS_DIR:-$HOME/.cache/keycard-tools}/node_modules/.bin:$HOME/.cargo/bin:$PATH"
