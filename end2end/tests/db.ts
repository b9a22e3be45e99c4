// Moving time forward for the server's SQLite database, for scenarios that need a session to have been idle
// for a month or a re-authentication to be older than its window. The browser can't wait that long, so the
// test rewrites the stored times, as the passage of time would have. Python's sqlite3 module does the
// writing (Node 20 has no SQLite); Keycard's busy timeout makes it wait for any write in progress.
//
// The database is the one the server under test uses: KEYCARD_E2E_DATA_DIR (the server playwright.config.ts
// starts) or KEYCARD_DATA_DIR (set by scripts/test for the server it starts). Against any other server these
// scenarios are skipped: `databaseFile()` returns null.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export function databaseFile(): string | null {
  const dir = process.env.KEYCARD_E2E_DATA_DIR || process.env.KEYCARD_DATA_DIR;
  if (!dir || process.env.KEYCARD_DATABASE_URL) return null;
  const file = path.resolve(dir, 'keycard.db');
  return fs.existsSync(file) ? file : null;
}

const PYTHON = `
import json, sys, sqlite3, time
db, action, user_agent, seconds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
conn = sqlite3.connect(db, timeout=10)
now = int(time.time())
rows = conn.execute("SELECT id_hash, data FROM sessions WHERE user_agent = ? AND ended_at IS NULL", (user_agent,)).fetchall()
if len(rows) != 1:
    sys.exit(f"expected one live session with that user agent, found {len(rows)}")
id_hash, data = rows[0]
if action == "idle":
    conn.execute("UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?", (now - seconds, id_hash))
elif action == "reauth":
    data = json.loads(data)
    data["reauth_at"] = now - seconds
    conn.execute("UPDATE sessions SET data = ? WHERE id_hash = ?", (json.dumps(data), id_hash))
conn.commit()
`;

function run(action: 'idle' | 'reauth', userAgent: string, seconds: number): void {
  const file = databaseFile();
  if (!file) throw new Error('the server database is not reachable from the test');
  execFileSync('python3', ['-c', PYTHON, file, action, userAgent, String(seconds)], { stdio: 'pipe' });
}

/// The live session of the browser presenting `userAgent` (unique per test) was last used `seconds` ago.
export function makeSessionIdle(userAgent: string, seconds: number): void {
  run('idle', userAgent, seconds);
}

/// The live session of the browser presenting `userAgent` re-authenticated `seconds` ago.
export function ageReauthentication(userAgent: string, seconds: number): void {
  run('reauth', userAgent, seconds);
}
