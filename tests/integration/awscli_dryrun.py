"""awscli_dryrun: runs AWS CLI commands through the CLI itself (Debian's awscli, in one
process) up to the moment a request would be sent, and says what each would have sent.

    python3 awscli_dryrun.py < commands.json > results.json

commands.json is a list of {"argv": [...], "run": true|false}, argv without the leading
"aws". A command whose run is false is only looked up (a mention such as `aws ecs
run-task --overrides`: the command and its options must exist). Each other runs with
--endpoint-url http://127.0.0.1:9 (a dead loopback port) in a CLI driver of its own (as
each `aws` process has; only the loaded service models are shared) and is stopped by a
before-call hook: after the CLI parsed its options, read file:// and shorthand values and
validated the parameters against the service model, before any byte is sent. The caller sets
dummy credentials and a region in the environment, so nothing looks for real ones either.
For each command: the CLI's exit status and error text, the API calls it prepared (service,
operation, parameters, whether they passed the CLI's validation), and what the CLI lets
through but the service model forbids (a value outside an enum or above a maximum, an
option given by an abbreviation of its name).
"""
import contextlib
import io
import json
import sys

import awscli.botocore.hooks
from awscli.clidriver import create_clidriver

# A new driver registers some 350 event handlers, and botocore inspects the signature of
# each (a check for developers that handlers take **kwargs): most of a driver's start-up.
# The handlers are the CLI's own, so that check is skipped here; nothing it parses or
# validates changes.
awscli.botocore.hooks.BaseEventHooks._verify_accept_kwargs = lambda self, handler: None

DEAD_ENDPOINT = "http://127.0.0.1:9"


class StopBeforeSending(Exception):
    pass


def model_problems(value, shape, where, out):
    """Checks the CLI leaves to the service: enums and maxima of the model."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for k, v in value.items():
            if k in shape.members:
                model_problems(v, shape.members[k], f"{where}.{k}", out)
    elif kind == "list" and isinstance(value, list):
        most = shape.metadata.get("max")
        if most is not None and len(value) > most:
            out.append(f"{where}: {len(value)} items, the most is {most}")
        for i, v in enumerate(value):
            model_problems(v, shape.member, f"{where}[{i}]", out)
    elif kind == "map" and isinstance(value, dict):
        for k, v in value.items():
            model_problems(v, shape.value, f"{where}.{k}", out)
    elif kind == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            out.append(f"{where}: {value!r} is not one of {shape.enum}")
        most = shape.metadata.get("max")
        if most is not None and len(value) > most:
            out.append(f"{where}: {len(value)} characters, the most is {most}")
    elif kind in ("integer", "long") and isinstance(value, int):
        most = shape.metadata.get("max")
        if most is not None and value > most:
            out.append(f"{where}: {value} is above the maximum {most}")


def leaf_command(driver, argv):
    """The command object argv names (service, operation, waiter...) and the rest of argv."""
    table = driver._get_command_table()
    cmd, rest = None, list(argv)
    while rest and table is not None and rest[0] in table:
        cmd = table[rest.pop(0)]
        table = getattr(cmd, "subcommand_table", None)
    return cmd, rest


def option_problems(driver, argv):
    cmd, rest = leaf_command(driver, argv)
    if cmd is None:
        return [f"no such command: aws {' '.join(argv[:2])}"]
    known = set(getattr(cmd, "arg_table", {})) | set(driver._get_argument_table())
    return [f"--{w[2:]} is not an option of aws {' '.join(argv[:2])} (written in full?)"
            for w in rest if w.startswith("--") and w[2:].split("=")[0] not in known]


def main():
    commands = json.load(sys.stdin)
    calls = []

    def before_build(params, model, **_):
        calls.append({"service": model.service_model.service_name, "operation": model.name,
                      "params": params, "model": model, "validated": False})

    def before_call(model, **_):
        calls[-1]["validated"] = True
        raise StopBeforeSending(f"stopped before sending {model.name}")

    results = []
    lookup = create_clidriver()  # only looks commands and options up: never runs one
    loader = lookup.session.get_component("data_loader")
    for command in commands:
        argv = command["argv"]
        calls.clear()
        err, rc = io.StringIO(), None
        if command["run"]:
            driver = create_clidriver()
            driver.session.register_component("data_loader", loader)
            driver.session.register("before-parameter-build", before_build)
            driver.session.register("before-call", before_call)
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                rc = driver.main(["--endpoint-url", DEAD_ENDPOINT, *argv])
        problems = option_problems(lookup, argv)
        for c in calls:
            model_problems(c["params"], c["model"].input_shape, c["operation"], problems)
        results.append({"argv": argv, "rc": rc, "stderr": err.getvalue(),
                        "calls": [{k: c[k] for k in ("service", "operation", "params",
                                                      "validated")} for c in calls],
                        "problems": problems})
    json.dump(results, sys.stdout, default=str)


if __name__ == "__main__":
    main()
