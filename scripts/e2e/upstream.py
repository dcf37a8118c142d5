"""A tiny app for end-to-end tests: answers every request with the identity headers it received."""
import html
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Echo(BaseHTTPRequestHandler):
    def answer(self):
        seen = {name: self.headers.get(name, "") for name in ("Remote-User", "Remote-Groups", "Remote-Name", "Remote-Email", "Host")}
        seen["path"] = self.path
        seen["method"] = self.command
        body = ('<!doctype html><title>echo</title><pre id="echo">%s</pre>' % html.escape(json.dumps(seen, sort_keys=True))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = answer

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Echo).serve_forever()
