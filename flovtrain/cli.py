"""The ``flovtrain`` command: sandbox control, checks, exercises, catch-up and doctor."""

from __future__ import annotations

import argparse
import json
import sys

from flovtrain.exceptions import FlovtrainError


def _sandbox(args: argparse.Namespace) -> int:
    from flovtrain.sandbox import control

    if args.action == "start":
        info = control.start(port=args.port)
        print(f"flovtrain sandbox running at {info['endpoint']} (pid {info['pid']})")
        print('Point a shell at it with: eval "$(flovtrain sandbox env)"')
    elif args.action == "status":
        info = control.status()
        if args.json:
            print(json.dumps(info, indent=2, default=str))
        elif info["running"]:
            print(
                f"running at {info['endpoint']} (pid {info['pid']}, providers: "
                f"{', '.join(info.get('providers', []))}, home {info['home']})"
            )
            for endpoint in info.get("endpoints", []):
                same = endpoint["port"] == endpoint["aws_port"]
                mapped = "" if same else f" (AWS's port {endpoint['aws_port']})"
                print(
                    f"  {endpoint['kind']:4} {endpoint['name']} on "
                    f"{endpoint['address']}:{endpoint['port']}{mapped}"
                )
        else:
            print(f"not running ({info['reason']}); start it with: flovtrain sandbox start")
            return 1
    elif args.action == "stop":
        print("stopped" if control.stop() else "the sandbox was not running")
    elif args.action == "reset":
        control.reset(seed=args.seed)
        print("sandbox reset: every service is empty again")
    elif args.action == "env":
        print("\n".join(control.env_lines(region=args.region)))
    elif args.action == "simulate-charges":
        from flovtrain.billing import simulate_charges

        print(simulate_charges(args.usd))
    return 0


def _check(args: argparse.Namespace) -> int:
    from flovtrain.checks import check, run_cli

    if not args.json:
        return run_cli(args.chapter)
    # machine-readable for the instructor's progress view: every item with its why and hint
    result = check(args.chapter)
    items = [vars(item) for item in result]
    print(
        json.dumps(
            {
                "chapter": result.chapter,
                "title": result.title,
                "passed": result.passed,
                "items": items,
            },
            indent=2,
        )
    )
    return 0 if result.passed else 1


def _exercises(args: argparse.Namespace) -> int:
    from flovtrain.exercises import build_cli

    return build_cli(check=args.check)


def _catch_up(args: argparse.Namespace) -> int:
    from flovtrain.catchup import catch_up

    catch_up(args.chapter, redo=args.redo)
    return 0


def _port(text: str) -> int:
    from flovtrain.config import sandbox_port

    try:
        return sandbox_port(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flovtrain", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sandbox = sub.add_parser("sandbox", help="start, stop, reset or inspect the local sandbox")
    actions = sandbox.add_subparsers(dest="action", required=True)
    start = actions.add_parser("start", help="start it (idempotent) and print its endpoint")
    start.add_argument(
        "--port",
        type=_port,
        default=None,
        help="fixed port, 1024-65535 (default: $FLOVTRAIN_SANDBOX_PORT or a free one)",
    )
    status = actions.add_parser("status", help="is it running, where")
    status.add_argument("--json", action="store_true")
    actions.add_parser("stop", help="stop it and every process it started")
    reset = actions.add_parser("reset", help="wipe every service, re-seed ids")
    reset.add_argument("--seed", type=int, default=None)
    env = actions.add_parser("env", help='print exports for: eval "$(flovtrain sandbox env)"')
    env.add_argument("--region", default="eu-west-1")
    charges = actions.add_parser("simulate-charges", help="publish AWS/Billing EstimatedCharges")
    charges.add_argument("usd", type=float, help="the month-to-date estimate in USD")
    sandbox.set_defaults(func=_sandbox)

    check = sub.add_parser("check", help="check a chapter's state: exit 0 when all items pass")
    check.add_argument("chapter", help="chapter number, e.g. 02")
    check.add_argument("--json", action="store_true", help="print the items as JSON")
    check.set_defaults(func=_check)

    exercises = sub.add_parser("exercises", help="generate exercises/ from solutions/")
    ex_actions = exercises.add_subparsers(dest="action", required=True)
    build = ex_actions.add_parser("build", help="write exercises/NN_*.ipynb")
    build.add_argument("--check", action="store_true", help="fail if exercises/ is stale")
    exercises.set_defaults(func=_exercises)

    catch = sub.add_parser("catch-up", help="run earlier chapters' solutions to reach chapter NN")
    catch.add_argument("chapter")
    catch.add_argument(
        "--redo", action="store_true", help="run every solution, even if its check already passes"
    )
    catch.set_defaults(func=_catch_up)

    doctor = sub.add_parser(
        "doctor", help="versions, protocols, git, the sandbox, disk: exit 0 when all is well"
    )
    doctor.set_defaults(func=_doctor)
    return parser


def _doctor(args: argparse.Namespace) -> int:
    from flovtrain import doctor

    return doctor.main()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows up here, not at interpreter exit
        return code
    except FlovtrainError as exc:
        print(f"flovtrain: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `flovtrain check 02 | head`: the reader left, no traceback
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
