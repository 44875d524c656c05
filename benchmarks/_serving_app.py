"""Benchmark-local servers: a minimal Starlette app over :class:`loopml.serving.MicroBatcher`
(to prove the harness and the batcher before the full server is measured), and the
Starlette hello-world that is the HTTP floor.

    python benchmarks/_serving_app.py local MODEL_DIR --port P [--no-batching]
    python benchmarks/_serving_app.py hello --port P

Both speak MLflow's ``/invocations`` with ``{"inputs": [[...], ...]}`` and answer
``GET /ping``; uvicorn, one worker, 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator
from typing import Any


def _local_app(model_dir: str, batching: bool) -> Any:
    import numpy as np
    import orjson
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from loopml.errors import DeadlineExceeded, Overloaded
    from loopml.models import load_model
    from loopml.serving import MicroBatcher

    raw = load_model(model_dir).raw

    def predict(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"predictions": raw.predict(cols["input"])}

    batcher = MicroBatcher(predict, enabled=batching)

    async def invocations(request: Request) -> Response:
        payload = orjson.loads(await request.body())
        rows = np.asarray(payload["inputs"], dtype=np.float64)
        try:
            out = await batcher.submit({"input": rows})
        except Overloaded as exc:
            return Response(
                b'{"error": "overloaded"}',
                503,
                headers={"Retry-After": str(max(1, round(exc.retry_after_s)))},
            )
        except DeadlineExceeded:
            return Response(b'{"error": "deadline"}', 504)
        body = orjson.dumps({"predictions": out["predictions"]}, option=orjson.OPT_SERIALIZE_NUMPY)
        return Response(body, media_type="application/json")

    async def ping(request: Request) -> Response:
        return Response(b"\n", media_type="application/json")

    async def stats(request: Request) -> Response:
        return Response(orjson.dumps(batcher.stats), media_type="application/json")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await batcher.start()
        yield
        await batcher.aclose()

    return Starlette(
        routes=[
            Route("/invocations", invocations, methods=["POST"]),
            Route("/ping", ping),
            Route("/stats", stats),
        ],
        lifespan=lifespan,
    )


def _hello_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def hello(request: Request) -> Response:
        await request.body()
        return Response(b'{"predictions": [0]}', media_type="application/json")

    return Starlette(routes=[Route("/invocations", hello, methods=["POST"]), Route("/ping", hello)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["local", "hello"])
    parser.add_argument("model", nargs="?")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-batching", action="store_true")
    args = parser.parse_args()
    import uvicorn

    app = _hello_app() if args.kind == "hello" else _local_app(args.model, not args.no_batching)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
