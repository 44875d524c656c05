"""The servers benchmarks/serving.py measures, and the peers' venvs.

Each server is a process on 127.0.0.1 started in its own session and stopped by its PID
(its process group, so a server's own workers go too). The peers (``mlflow models serve``
and a minimal BentoML service) are installed into their own venvs under
``~/.cache/loopml-bench/`` (or ``$LOOPML_BENCH_CACHE``), never into the project's venv,
with the same scikit-learn as here so the pickled models load unchanged.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = {"mlflow": ("mlflow==3.17.*",), "bentoml": ("bentoml==1.4.*",)}
_SAME_AS_HERE = ("scikit-learn", "numpy", "scipy", "joblib")
_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "BENTOML_DO_NOT_TRACK": "True",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
}

_BENTO_SERVICE = """
import pickle

import bentoml
import numpy as np

with open({model!r}, "rb") as f:
    MODEL = pickle.load(f)


@bentoml.service(workers=1)
class Model:
    @bentoml.api
    def invocations(self, inputs: np.ndarray) -> np.ndarray:
        return MODEL.predict(inputs)
"""

_MLFLOW_SAVE = """
import pickle, sys
import mlflow.sklearn
import numpy as np
model = pickle.load(open(sys.argv[1], "rb"))
example = np.load(sys.argv[3])
# Our own freshly trained model: its tree storage is trusted, as skops asks us to say.
mlflow.sklearn.save_model(
    model, sys.argv[2], input_example=example, skops_trusted_types=["sklearn.tree._tree.Tree"]
)
"""


def cache_root() -> Path:
    if os.environ.get("LOOPML_BENCH_CACHE"):
        return Path(os.environ["LOOPML_BENCH_CACHE"])
    return Path.home() / ".cache" / "loopml-bench"


def _pins(with_numpy: bool) -> list[str]:
    return [
        f"{name}=={metadata.version(name)}"
        for name in _SAME_AS_HERE
        if with_numpy or name not in ("numpy", "scipy")
    ]


def peer_venv(peer: str) -> Path:
    """The venv of ``peer``, built once (file lock; reused while its pins are unchanged)."""
    key = hashlib.sha256(" ".join([*PEERS[peer], sys.version, *_pins(True)]).encode())
    venv = cache_root() / f"{peer}-{key.hexdigest()[:12]}"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (venv / ".complete").exists():
            return venv
        print(f"installing {peer} into {venv} (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-input"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True, timeout=600)
        done = subprocess.run([*pip, *PEERS[peer], *_pins(True)], check=False, timeout=1800)
        if done.returncode != 0:  # the peer pins its own numpy: keep scikit-learn equal
            subprocess.run([*pip, *PEERS[peer], *_pins(False)], check=True, timeout=1800)
        (venv / ".complete").write_text("ok\n")
    return venv


def process_cpu_s(pid: int) -> float | None:
    """CPU seconds a live process has used so far (Linux ``/proc``; None elsewhere).

    Unlike the time to ready, this hardly depends on what else the machine is running.
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """One server process: how to start it, where it answers, and its figures."""

    name: str
    argv: list[str]
    port: int
    ready_path: str = "/ping"
    infer_path: str = "/invocations"
    cwd: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    log: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    #: CPU seconds (user + system) the process itself had used when it was first ready.
    ready_cpu_s: float | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.infer_path}"

    def start(self, timeout_s: float = 180.0) -> float:
        """Start the process; seconds until its ready endpoint first answered 200."""
        self._wait_port_free()
        env = {**os.environ, **_ENV, **self.env}
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if not isinstance(out, int):
            out.close()  # the child has its own descriptor
        ready = f"http://127.0.0.1:{self.port}{self.ready_path}"
        while time.perf_counter() - started < timeout_s:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}; see {self.log}"
                )
            try:
                with urllib.request.urlopen(ready, timeout=1) as response:
                    if response.status == 200:
                        elapsed = time.perf_counter() - started
                        self.ready_cpu_s = process_cpu_s(self.proc.pid)
                        return elapsed
            except OSError:
                pass
            time.sleep(0.005)
        self.stop()
        raise RuntimeError(f"{self.name} was not ready after {timeout_s:.0f} s; see {self.log}")

    def _wait_port_free(self, timeout_s: float = 30.0) -> None:
        """Wait until nothing answers on the port: a stopped server's worker can outlive
        the process we started (MLflow's uvicorn, under bash) and would answer the next
        start's ready check at once (a 0.01 s "start" was measured so)."""
        deadline = time.perf_counter() + timeout_s
        while time.perf_counter() < deadline:
            with socket.socket() as probe:
                probe.settimeout(0.2)
                if probe.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"port {self.port} of {self.name} is still in use after {timeout_s} s")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)  # the group led by the PID we started
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(15)


def loopml_server(model_dir: Path, home: Path, *, batching: bool, log: bool, logs: Path) -> Server:
    port = free_port()
    argv = [sys.executable, "-m", "loopml", "--home", str(home), "serve", str(model_dir)]
    argv += ["--port", str(port)]
    argv += [] if batching else ["--no-batching"]
    argv += [] if log else ["--no-log"]
    name = "loopml" + ("" if batching else "-nobatch") + ("" if log else "-nolog")
    return Server(name, argv, port, "/v2/health/ready", log=logs / f"{name}.log")


def loopml_router(deployment: str, home: Path, *, log: bool, logs: Path) -> Server:
    """``loopml serve --deployment NAME``: the router in front of two arms of one model."""
    port = free_port()
    argv = [sys.executable, "-m", "loopml", "--home", str(home), "serve"]
    argv += ["--deployment", deployment, "--port", str(port)] + ([] if log else ["--no-log"])
    return Server("loopml-router", argv, port, "/v2/health/ready", log=logs / "router.log")


def local_server(model_dir: Path, *, batching: bool, logs: Path) -> Server:
    port = free_port()
    argv = [sys.executable, str(HERE / "_serving_app.py"), "local", str(model_dir)]
    argv += ["--port", str(port)] + ([] if batching else ["--no-batching"])
    name = "local" + ("" if batching else "-nobatch")
    return Server(name, argv, port, log=logs / f"{name}.log")


def hello_server(logs: Path) -> Server:
    port = free_port()
    argv = [sys.executable, str(HERE / "_serving_app.py"), "hello", "--port", str(port)]
    return Server("starlette-hello", argv, port, log=logs / "hello.log")


def mlflow_server(pickle_path: Path, example: Path, work: Path, logs: Path) -> Server:
    venv = peer_venv("mlflow")
    model_dir = work / f"mlflow-{pickle_path.stem}"
    if not model_dir.exists():
        script = work / "mlflow_save.py"
        script.write_text(_MLFLOW_SAVE)
        subprocess.run(
            [
                str(venv / "bin" / "python"),
                str(script),
                str(pickle_path),
                str(model_dir),
                str(example),
            ],
            check=True,
            env={**os.environ, **_ENV},
            timeout=600,
        )
    port = free_port()
    argv = [str(venv / "bin" / "mlflow"), "models", "serve", "-m", str(model_dir)]
    argv += ["--env-manager", "local", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    # mlflow starts `uvicorn` through bash, so the venv's bin must be on PATH.
    path = f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    return Server("mlflow", argv, port, env={"PATH": path}, log=logs / "mlflow.log")


def bentoml_server(pickle_path: Path, work: Path, logs: Path) -> Server:
    venv = peer_venv("bentoml")
    folder = work / f"bento-{pickle_path.stem}"
    folder.mkdir(exist_ok=True)
    (folder / "service.py").write_text(_BENTO_SERVICE.format(model=str(pickle_path)))
    port = free_port()
    argv = [str(venv / "bin" / "bentoml"), "serve", "service:Model"]
    argv += ["--host", "127.0.0.1", "--port", str(port)]
    return Server(
        "bentoml",
        argv,
        port,
        "/readyz",
        cwd=folder,
        env={"BENTOML_HOME": str(work / "bentoml-home")},
        log=logs / "bentoml.log",
    )
