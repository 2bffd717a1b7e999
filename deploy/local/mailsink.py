"""A local SMTP relay for `make up`: every mail it receives is written to a directory as an .eml file,
so that a new user can read the replies Relais sends by email (the channels service relays to it).

    .venv/bin/python deploy/local/mailsink.py --port 2526 --dir .local/mail
"""

import argparse
import asyncio
import time
from pathlib import Path

from aiosmtpd.smtp import SMTP, Envelope, Session


class Sink:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.count += 1
        content = envelope.original_content or b""
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{self.count:05d}.eml"
        # Written under a temporary name and renamed: a reader never sees half a mail.
        partial = self.directory / f".{name}.part"
        partial.write_bytes(content if isinstance(content, bytes) else content.encode())
        partial.rename(self.directory / name)
        return "250 OK"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2526)
    parser.add_argument("--dir", type=Path, default=Path(".local/mail"))
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    sink = Sink(args.dir)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink, enable_SMTPUTF8=True), args.host, args.port)
    print(f"mail sink on {args.host}:{args.port}, writing to {args.dir}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
