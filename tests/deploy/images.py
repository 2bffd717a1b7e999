"""The Dockerfile, parsed with the Docker parser (the `dockerfile` package), for the image tests."""

import dockerfile

from tests.deploy.rendering import REPO

Instruction = dockerfile.Command


def stages() -> list[list[Instruction]]:
    """The Dockerfile's stages, each from its FROM on (the global ARGs before the first FROM are left out)."""
    out: list[list[Instruction]] = []
    for instruction in dockerfile.parse_file(str(REPO / "Dockerfile")):
        if instruction.cmd == "FROM":
            out.append([])
        if out:
            out[-1].append(instruction)
    return out


def global_args() -> dict[str, str]:
    args = {}
    for instruction in dockerfile.parse_file(str(REPO / "Dockerfile")):
        if instruction.cmd == "FROM":
            break
        if instruction.cmd == "ARG" and "=" in instruction.value[0]:
            name, _, default = instruction.value[0].partition("=")
            args[name] = default
    return args


def base_image(stage: list[Instruction]) -> str:
    image = stage[0].value[0]
    for name, default in global_args().items():
        image = image.replace(f"${{{name}}}", default).replace(f"${name}", default)
    return image


def runs(stage: list[Instruction]) -> list[str]:
    return [i.value[0] for i in stage if i.cmd == "RUN"]
