"""`make serve`: a registered model behind MLflow's scoring server (`mlflow models serve --env-manager
local`), in this environment, on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

from seqlab.errors import SeqlabError
from seqlab.tracking.model_loading import LOCAL_STORE, PROGRESS_ENV
from seqlab.tracking.registry import FORMS, model_version


@dataclass
class ServeOptions:
    model: str | None = None  # models:/<name>@<alias> or models:/<name>/<version>
    port: int = 5001
    host: str = "127.0.0.1"  # 0.0.0.0 opens it to the network
    tracking_uri: str = field(
        default_factory=lambda: os.environ.get("MLFLOW_TRACKING_URI", LOCAL_STORE))


def check_port_free(host: str, port: int) -> None:
    """A port another process listens on is one message, before the server would fail with a traceback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # as uvicorn binds: a closing port is free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            raise SeqlabError(f"cannot serve on {host}:{port}: {err.strerror or err} (another server "
                              "there?); pick another port with PORT=<number>") from None


def serve_command(options: ServeOptions) -> tuple[list[str], dict[str, str]]:
    """The mlflow models serve command line and its environment: this Python, and its bin folder first on
    PATH (MLflow starts `uvicorn` by name)."""
    command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", options.model, "--env-manager",
               "local", "--host", options.host, "--port", str(options.port)]
    env = {**os.environ, "MLFLOW_TRACKING_URI": options.tracking_uri, PROGRESS_ENV: "false",
           "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    return command, env


def serve(options: ServeOptions) -> None:
    """Checks the model URI and the port first, each mistake one message; the server then replaces this
    process (Ctrl-C stops it)."""
    if not options.model:
        raise SeqlabError(f"give the model to serve: make serve MODEL={FORMS}")
    version = model_version(options.tracking_uri, options.model)
    check_port_free(options.host, options.port)
    command, env = serve_command(options)
    print(f"serving {options.model} (version {version.version}, run {version.run_id}) at "
          f"http://{options.host}:{options.port}/invocations; Ctrl-C stops it", file=sys.stderr, flush=True)
    os.execve(command[0], command, env)
