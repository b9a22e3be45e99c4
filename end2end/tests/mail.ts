// Mail the server sent, as the SMTP sink started by scripts/test received it: one JSON file per
// message in E2E_MAIL_DIR (written by tests/integration/common/smtp_sink.py).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from './helpers';

export interface ReceivedMail {
  rcpt_tos: string[];
  subject: string;
  text: string;
  html: string;
}

/// Where the sink writes; undefined when no sink runs (then mail tests are skipped, never passed).
export const mailDir: string | undefined = process.env.E2E_MAIL_DIR;
// The mail tests skip themselves without the sink when run by hand; a CI run must have it.
if (!mailDir && process.env.CI === 'true') {
  throw new Error('E2E_MAIL_DIR is unset: CI runs the mail tests against the SMTP sink that scripts/test starts');
}

function received(): ReceivedMail[] {
  if (!mailDir) return [];
  return fs
    .readdirSync(mailDir)
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => JSON.parse(fs.readFileSync(path.join(mailDir, name), 'utf8')) as ReceivedMail);
}

/// Waits for the newest mail to `to` with `subject` (the server's mail worker sends every few seconds).
export async function waitForMail(to: string, subject: string): Promise<ReceivedMail> {
  let found: ReceivedMail | undefined;
  await expect
    .poll(
      () => {
        found = received()
          .filter((mail) => mail.rcpt_tos.includes(to) && mail.subject === subject)
          .pop();
        return found !== undefined;
      },
      { timeout: 30_000, message: `a mail to ${to} with subject "${subject}"` },
    )
    .toBe(true);
  return found as ReceivedMail;
}

/// The first link in a mail's plain text that contains `pathPart`, as a same-site path.
export function linkIn(mail: ReceivedMail, pathPart: string): string {
  const line = mail.text.split('\n').find((l) => l.includes(pathPart));
  expect(line, `a link containing ${pathPart}`).toBeDefined();
  const url = new URL((line as string).trim());
  return url.pathname + url.search;
}
