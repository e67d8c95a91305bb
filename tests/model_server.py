"""An OpenAI-compatible model provider on loopback for tests of the gateway and of what waits on it: a handler
class answers each call with `send_answer` (streamed or whole, as slowly as asked) or `send_json`, and `serving`
runs it. A real HTTP server, so litellm, the gateway's streaming and its deadlines are exercised as they are used."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def send_json(handler: BaseHTTPRequestHandler, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
    """Answer the call with ``status`` and ``body`` as one JSON document, and ``headers`` besides."""
    raw = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(raw)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(raw)


def send_answer(
    handler: BaseHTTPRequestHandler,
    content: str,
    pieces: int = 1,
    pause: float = 0.0,
    can_stream: bool = True,
    think: float = 0.0,
) -> None:
    """Answers the request `handler` read as OpenAI's chat completions do: when it asked to stream (and
    `can_stream`), `content` in `pieces` server-sent events `pause` seconds apart (then the usage, if asked), after
    a first piece with the role alone when it will `think` that long before writing; else one JSON body after the
    same time. The usage counts a token per piece."""
    request = json.loads(handler.rfile.read(int(handler.headers["Content-Length"])))
    usage = {"prompt_tokens": 5, "completion_tokens": pieces, "total_tokens": 5 + pieces}
    step = -(-len(content) // pieces)
    if not (request.get("stream") and can_stream):
        time.sleep(pause * pieces)
        message = {"role": "assistant", "content": content}
        body = {"id": "c1", "object": "chat.completion", "created": 0, "model": "any", "usage": usage,
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}  # fmt: skip
        send_json(handler, 200, body)
        return
    handler.send_response(200)
    handler.send_header("Content-Type", "text/event-stream")
    handler.end_headers()  # no length: the body ends when the connection closes (HTTP/1.0)
    deltas = [{"role": "assistant", "content": content[:step]}]
    deltas += [{"content": content[start : start + step]} for start in range(step, len(content), step)]
    if think:
        deltas[0] = {"content": deltas[0]["content"]}
        role = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "any",
                "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}  # fmt: skip
        handler.wfile.write(f"data: {json.dumps(role)}\n\n".encode())
        handler.wfile.flush()
        time.sleep(think)
    events = [{"choices": [{"index": 0, "delta": delta, "finish_reason": None}]} for delta in deltas]
    events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if (request.get("stream_options") or {}).get("include_usage"):
        events.append({"choices": [], "usage": usage})
    try:
        for number, event in enumerate(events):
            if number and number < len(deltas):
                time.sleep(pause)
            chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "any", **event}
            handler.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            handler.wfile.flush()
        handler.wfile.write(b"data: [DONE]\n\n")
    except OSError:  # the client gave up
        pass


class SilentProvider(BaseHTTPRequestHandler):
    """Takes the call and answers nothing for longer than any timeout or deadline a test sets (5 s)."""

    def do_POST(self):  # noqa: N802 (the standard library's name)
        self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(5)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serving(handler: type[BaseHTTPRequestHandler]):
    """An OpenAI-compatible provider on loopback, answering with `handler`: its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True  # a handler still sleeping holds nothing up at the end
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
