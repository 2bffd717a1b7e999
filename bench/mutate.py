"""Mutation testing of the pure cores: mutmut 3 over each `domain/` package and libs/contracts.

Each package is copied (its `src/` and `tests/`, and the root conftest.py for the tier markers) into
`.local/mutate/<package>/`, where mutmut mutates only the pure core and runs only that package's unit
tests (`-m unit`), and only those that cover the mutated function. One package at a time, one worker
by default: the run is slow, which is why it is not part of `make test`.

    make mutate                                   # every package, smallest first
    uv run python bench/mutate.py --package router --max-children 2

Prints a table (package, mutants, killed, survived, timeout, score) and the surviving mutants, and
writes `.local/bench/mutate.json` (results of packages not run this time are kept from the last run).
The score is killed / (killed + survived + timeout): a timeout is counted as not killed, and mutants
no unit test reaches ("no tests") are listed apart, because no test can kill them either.
"""

import argparse
import json
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Package:
    name: str
    root: str  # workspace member folder
    core: str  # the pure core to mutate, under root (a glob for mutmut's only_mutate)
    # Unit tests that read the repository's checked-in files (docs/schemas, deploy/), absent from the copy.
    deselect: tuple[str, ...] = ()
    # Which tests each mutant reruns. The router's property and simulation tests and the bot's model
    # training and quality tests take tens of seconds each; mutmut reruns every covering test for
    # every mutant, so they are marked `slow` and left out where fast unit tests cover the same
    # functions (the score shows whether they do).
    markers: str = "unit"
    # Folders of the member its code reads at run time (the bot's corpus and evaluation sets).
    data: tuple[str, ...] = ()


# Smallest first, so a short run still measures something.
PACKAGES = [
    Package("agent-gateway", "services/agent-gateway", "src/relais_agent_gateway/domain/*"),
    Package(
        "channels",
        "services/channels",
        "src/relais_channels/domain/*",
        deselect=("tests/test_openapi.py::test_the_openapi_document_is_fresh",),  # reads docs/openapi.json
    ),
    Package("context-store", "services/context-store", "src/relais_context_store/domain/*"),
    Package(
        "contracts",
        "libs/contracts",
        "src/relais_contracts/*",
        deselect=(
            "tests/test_contracts.py::test_checked_in_schemas_are_current",
            "tests/test_contracts.py::test_every_reference_in_the_asyncapi_document_resolves",
        ),
    ),
    Package(
        "router",
        "services/router",
        "src/relais_router/domain/*",
        deselect=("tests/test_config.py::test_the_shipped_example_is_valid",),  # reads deploy/k8s
        markers="unit and not slow",
    ),
    Package(
        "bot", "services/bot", "src/relais_bot/domain/*", markers="unit and not slow", data=("corpus", "eval")
    ),
]

MUTATE_EXAMPLES = 20

# mutmut's exit codes, grouped as the table shows them (mutmut.stats.status_by_exit_code).
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped"}
STATUS |= {c: "timeout" for c in (36, -24, 24, 152, 255)}


def _pyproject(package: Package) -> str:
    """mutmut's configuration and the root's pytest options (markers, asyncio), for the copy."""
    pytest_options = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    mutmut = {
        "source_paths": ["src"],
        "only_mutate": [package.core],
        # the schema exporter is a build tool (make schemas), not part of the contract's behaviour
        "do_not_mutate": ["src/relais_contracts/schema_export.py"],
        "pytest_add_cli_args": [
            "-m",
            package.markers,
            "-q",
            "-p",
            "no:cacheprovider",
            *(f"--deselect={t}" for t in package.deselect),
        ],
        "pytest_add_cli_args_test_selection": ["tests"],
        "use_git_change_detection": False,
        "also_copy": list(package.data),
    }
    options = {k: v for k, v in pytest_options.items() if k not in ("testpaths", "timeout")}
    # The copy's tests/ is the package's tests folder: helper modules there import as in the repository.
    options["pythonpath"] = [".", "tests"]
    return _toml({"tool": {"mutmut": mutmut, "pytest": {"ini_options": options}}})


def _toml(data: dict[str, Any], prefix: str = "") -> str:
    """The few TOML shapes the config above needs (tables of strings, bools, lists of strings)."""
    lines, tables = [], []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append(_toml(value, f"{prefix}{key}."))
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    head = [f"[{prefix.rstrip('.')}]"] if prefix and lines else []
    return "\n".join([*head, *lines, "", *tables])


def _prepare(package: Package, work: Path) -> None:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copytree(REPO / package.root / "src", work / "src")
    shutil.copytree(REPO / package.root / "tests", work / "tests", ignore=_not_unit)
    for folder in package.data:
        shutil.copytree(REPO / package.root / folder, work / folder)
    # The root conftest (tier markers), and fewer hypothesis examples per mutant: each mutant reruns
    # the property tests that cover it, and a broken core fails them within a few examples.
    conftest = (REPO / "conftest.py").read_text() + (
        "\nfrom hypothesis import settings as _settings\n\n"
        '_settings.register_profile("mutate", max_examples=MUTATE_EXAMPLES, deadline=None)\n'
        '_settings.load_profile("mutate")\n'
    ).replace("MUTATE_EXAMPLES", str(MUTATE_EXAMPLES))
    (work / "conftest.py").write_text(conftest)
    (work / "pyproject.toml").write_text(_pyproject(package))


def _not_unit(folder: str, names: list[str]) -> list[str]:
    """Test modules without a unit test: they need Kafka, Redis or the repository's e2e harness."""
    return [
        n
        for n in names
        if n.startswith("test_") and n.endswith(".py") and "mark.unit" not in (Path(folder) / n).read_text()
    ]


def _results(work: Path) -> dict[str, int | None]:
    codes: dict[str, int | None] = {}
    for meta in (work / "mutants").rglob("*.meta"):
        codes.update(json.loads(meta.read_text())["exit_code_by_key"])
    return codes


def _diff(mutmut: str, work: Path, name: str) -> str:
    argv = [mutmut, "show", name]
    shown = subprocess.run(argv, cwd=work, capture_output=True, text=True, check=False)  # noqa: S603
    return shown.stdout.strip()


def run_package(
    package: Package, max_children: int, diffs: bool, only: list[str], max_seconds: float | None, rerun: bool
) -> dict[str, Any]:
    work = REPO / ".local" / "mutate" / package.name
    mutmut = str(Path(sys.executable).parent / "mutmut")
    stopped, seconds, output = False, 0.0, ""
    if rerun:
        _prepare(package, work)
        started = time.monotonic()
        # mutmut writes each verdict as it goes: a run stopped at the time limit (SIGINT, which mutmut
        # handles by stopping its workers) still reports every mutant judged so far.
        with subprocess.Popen(  # noqa: S603 (the venv's own mutmut, fixed arguments)
            [mutmut, "run", "--max-children", str(max_children), *only],
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as run:
            try:
                output, _ = run.communicate(timeout=max_seconds)
            except subprocess.TimeoutExpired:
                stopped = True
                run.send_signal(signal.SIGINT)
                try:
                    output, _ = run.communicate(timeout=60)
                except subprocess.TimeoutExpired:
                    run.kill()
                    output, _ = run.communicate()
        seconds = round(time.monotonic() - started, 1)
        returncode = run.returncode
    else:
        returncode = 0  # --summarize: the verdicts of the last run, as they are
    codes = _results(work)
    if (returncode != 0 and not stopped) or not any(code is not None for code in codes.values()):
        tail = "\n".join(output.splitlines()[-30:])
        raise SystemExit(f"mutmut failed on {package.name} (exit {returncode}):\n{tail}")
    # outside --only, or not reached before the time limit
    not_checked = sum(1 for code in codes.values() if code is None)
    judged_codes = {name: code for name, code in codes.items() if code is not None}
    by_status: dict[str, list[str]] = {}
    for name, code in sorted(judged_codes.items()):
        by_status.setdefault(STATUS.get(code, "suspicious"), []).append(name)
    killed, survived = len(by_status.get("killed", [])), by_status.get("survived", [])
    timeout = len(by_status.get("timeout", []))
    judged = killed + len(survived) + timeout
    return {
        "package": package.name,
        "core": f"{package.root}/{package.core}",
        "only": only,
        "tests": package.markers,
        "mutants": len(codes),  # judged or not
        "not_checked": not_checked,
        "killed": killed,
        "survived": len(survived),
        "timeout": timeout,
        "no_tests": len(by_status.get("no tests", [])),
        "other": {k: len(v) for k, v in by_status.items() if k not in STATUS.values()},
        "score": round(100 * killed / judged, 1) if judged else None,
        "seconds": seconds,
        "stopped_at_time_limit": stopped,
        "surviving": {name: (_diff(mutmut, work, name) if diffs else "") for name in survived},
        "no_test_mutants": by_status.get("no tests", []),
    }


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--package", action="append", choices=[p.name for p in PACKAGES])
    parser.add_argument("--max-children", type=int, default=1, help="mutmut workers (default 1)")
    parser.add_argument(
        "--only", action="append", default=[], help="mutant name globs, e.g. 'relais_router.domain.config*'"
    )
    parser.add_argument(
        "--max-seconds", type=float, help="stop each package's run after this long and report what was judged"
    )
    parser.add_argument(
        "--summarize", action="store_true", help="report the verdicts of the last run without running again"
    )
    parser.add_argument("--no-diffs", action="store_true", help="list surviving mutants without their diff")
    parser.add_argument("--out", type=Path, default=REPO / ".local" / "bench" / "mutate.json")
    args = parser.parse_args()
    chosen = [p for p in PACKAGES if not args.package or p.name in args.package]
    previous = json.loads(args.out.read_text()) if args.out.exists() else {"packages": {}}
    results = previous.get("packages", {})
    for package in chosen:
        print(f"mutating {package.name} ...", flush=True)
        results[package.name] = run_package(
            package, args.max_children, not args.no_diffs, args.only, args.max_seconds, not args.summarize
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"tool": "mutmut 3", "packages": results}, indent=2) + "\n")

    head = ("mutants", "killed", "survived", "timeout", "no tests", "unjudged", "score")
    print(f"\n{'package':<15}" + "".join(f"{h:>9}" for h in head))
    for r in results.values():
        score = "-" if r["score"] is None else f"{r['score']:.1f}%"
        print(
            f"{r['package']:<15}{r['mutants']:>9}{r['killed']:>9}{r['survived']:>9}{r['timeout']:>9}"
            f"{r['no_tests']:>9}{r['not_checked']:>9}{score:>9}"
        )
    for r in results.values():
        if r["surviving"]:
            print(f"\nsurviving mutants of {r['package']}:")
            for name, diff in r["surviving"].items():
                print(f"  {name}")
                for line in diff.splitlines():
                    if line.startswith(("+", "-")) and not line.startswith(("+++", "---")):
                        print(f"      {line}")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
