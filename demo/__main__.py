"""`python -m demo`: play a realistic day against a running Relais (`make demo` starts it first).

Every option has an environment variable of the same name in capitals (RATE, DURATION, SEED, ...),
which `make demo RATE=20` passes on."""

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path

from demo.play import Settings, play

REPO = Path(__file__).resolve().parent.parent


def settings(argv: list[str]) -> Settings:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument(
        "--rate",
        type=float,
        default=float(env("RATE", "6")),
        help="new conversations a minute (Poisson arrivals; default 6)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=float(env("DURATION") or 0) or None,
        help="seconds to play, then stop (default: until Ctrl-C)",
    )
    parser.add_argument(
        "--seed", type=int, default=int(env("SEED", "1")), help="the same seed plays the same day (default 1)"
    )
    parser.add_argument(
        "--agents", type=int, default=int(env("AGENTS", "4")), help="simulated agents (default 4)"
    )
    parser.add_argument(
        "--pace",
        type=float,
        default=float(env("PACE", "1")),
        help="multiplies every pause of customers and agents (default 1: human speed)",
    )
    parser.add_argument("--tenant", default=env("TENANT", "demo"))
    parser.add_argument("--integrator", default=env("INTEGRATOR", "demo-dev"))
    parser.add_argument(
        "--secret-file", type=Path, default=Path(env("SECRET_FILE", REPO / ".local/channels/demo-dev.secret"))
    )
    parser.add_argument("--channels-url", default=env("CHANNELS_URL", "http://127.0.0.1:8084"))
    parser.add_argument("--gateway-url", default=env("GATEWAY_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--bot-url", default=env("BOT_URL", "http://127.0.0.1:8082"))
    parser.add_argument("--prometheus-url", default=env("PROMETHEUS_URL", "http://127.0.0.1:9090"))
    parser.add_argument(
        "--tally-every",
        type=float,
        default=float(env("TALLY_EVERY", "10")),
        help="seconds between two tally lines (default 10)",
    )
    args = parser.parse_args(argv)
    if args.rate <= 0 or args.agents < 0 or args.pace < 0 or (args.duration or 0) < 0:
        parser.error("--rate must be positive; --agents, --pace and --duration not negative")
    try:
        secret = args.secret_file.read_text().strip()
    except OSError as error:
        parser.error(f"cannot read the integrator's secret ({error}); is the stack up (`make up`)?")
    return Settings(
        rate=args.rate,
        duration=args.duration,
        seed=args.seed,
        agents=args.agents,
        pace=args.pace,
        tenant=args.tenant,
        integrator=args.integrator,
        secret=secret,
        channels_url=args.channels_url.rstrip("/"),
        gateway_url=args.gateway_url.rstrip("/"),
        bot_url=args.bot_url.rstrip("/"),
        prometheus_url=args.prometheus_url.rstrip("/"),
        tally_every_s=args.tally_every,
    )


async def main(config: Settings) -> None:
    print(f"agent desk:  {config.gateway_url}/desk/  (dev login, tenant {config.tenant}: be one more agent)")
    print(f"supervisor:  {config.gateway_url}/supervisor/")
    print(f"prometheus:  {config.prometheus_url}")
    print(f"web chat:    {config.channels_url}/chat/  (be one more customer)", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await play(config, stop)


if __name__ == "__main__":
    asyncio.run(main(settings(sys.argv[1:])))
