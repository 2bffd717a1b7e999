"""The OpenAPI document of the channels service's HTTP API, as checked in under services/channels/docs/.

`make schemas` runs `python -m relais_channels.openapi`; a test fails when the checked-in file is stale.
"""

import json
import sys
from pathlib import Path
from typing import Any

from relais_channels.app import create_app
from relais_channels.settings import ChannelsSettings

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def document() -> dict[str, Any]:
    """The app's OpenAPI document (the app is built, never started: nothing connects)."""
    openapi: dict[str, Any] = create_app(ChannelsSettings(env="test")).openapi()
    openapi["info"]["description"] = (
        "Channel integrators publish the channel contract's CloudEvents over HTTP, signed with their "
        "secret (docs/integrators.md)."
    )
    return openapi


def render() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> None:
    target = Path((argv or sys.argv[1:] or [str(DOCUMENT)])[0])
    target.write_text(render())
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
