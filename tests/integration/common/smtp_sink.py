# An SMTP server for the mail tests (tests/integration/common/smtp.rs): accepts every message on
# 127.0.0.1:<port> and writes each, decoded, as one JSON file into <dir>. Prints "ready" once it
# listens. Exits with status 3 when aiosmtpd is missing.
import asyncio
import email
import email.policy
import json
import os
import sys

try:
    from aiosmtpd.smtp import SMTP
except ImportError as err:
    print(f"aiosmtpd is not installed ({err})", file=sys.stderr, flush=True)
    sys.exit(3)

out_dir, port = sys.argv[1], int(sys.argv[2])


class Sink:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        parts = {}
        for part in message.walk():
            if part.get_content_maintype() == "text":
                # Line ends are CRLF on the wire; the test compares with what Keycard wrote.
                parts.setdefault(part.get_content_type(), part.get_content().replace("\r\n", "\n"))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "message_id": str(message.get("Message-ID", "")),
            "from": str(message.get("From", "")),
            "to": str(message.get("To", "")),
            "subject": str(message.get("Subject", "")),
            "content_type": message.get_content_type(),
            "text": parts.get("text/plain", ""),
            "html": parts.get("text/html", ""),
        }
        name = os.path.join(out_dir, f"{self.count:06d}")
        with open(name + ".tmp", "w") as f:
            json.dump(record, f)
        # Renamed into place: the test never reads a half-written file.
        os.rename(name + ".tmp", name + ".json")
        return "250 Message accepted"


async def main():
    sink = Sink()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink, decode_data=False), "127.0.0.1", port)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
