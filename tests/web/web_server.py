"""Run the web studio for a test: in this process (uvicorn in a thread) on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

from benchmarks.load_test import free_port, wait_healthy


@contextlib.contextmanager
def running(studio) -> Iterator[str]:
    """Serve `studio` on 127.0.0.1:<free port>; yields the base URL (ending in /).

    Gradio reads its upload folder from the environment (create_app sets it to the studio's), so
    one process serves one studio at a time: the previous setting comes back on exit.
    """
    import uvicorn

    from flowstyle.web import create_app

    previous = os.environ.get("GRADIO_TEMP_DIR")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(studio), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_healthy(url)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        studio.close()
        if previous is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = previous
