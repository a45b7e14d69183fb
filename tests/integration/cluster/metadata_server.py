"""One task's ECS metadata endpoint (v4), run inside the task's network namespace.

usage: metadata_server.py PORT PREFIX DIR [HOST]
Serves DIR/container.json at PREFIX and DIR/task.json at PREFIX/task on HOST:PORT (HOST
127.0.0.1 unless given; the image tests run it in a container of its own), as the ECS
agent does at ECS_CONTAINER_METADATA_URI_V4; anything else is a 404. Prints
"ready" once it listens, then one line per request on stderr."""
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    port, prefix, d = int(sys.argv[1]), sys.argv[2].rstrip("/"), sys.argv[3]
    host = sys.argv[4] if len(sys.argv) > 4 else "127.0.0.1"
    routes = {prefix: os.path.join(d, "container.json"),
              prefix + "/task": os.path.join(d, "task.json")}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):
            sys.stderr.write("%s\n" % (fmt % args))
            sys.stderr.flush()

        def do_GET(self):
            path = routes.get(self.path)
            if path is None:
                self.send_error(404)
                return
            with open(path, "rb") as f:
                body = f.read()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer((host, port), Handler)
    httpd.daemon_threads = True
    print("ready", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
