"""An nginx of its own, in a folder of its own, for the scripts that measure from outside.

    with Nginx(folder, http_block) as nginx:
        nginx.start(ports=[19511])
        nginx.pids()   # the master and its workers
"""
import os
import shutil
import signal
import socket
import subprocess
import time

import procfs


def binary():
    """nginx from PATH, or Debian's /usr/sbin/nginx (not on a normal user's PATH)."""
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)


def version():
    path = binary()
    if not path:
        return "none"
    completed = subprocess.run([path, "-v"], capture_output=True, text=True)
    return (completed.stderr or completed.stdout).strip().split("/", 1)[-1]


class Nginx:
    def __init__(self, folder, http_block, workers="auto"):
        self.folder = os.path.abspath(folder)
        self.process = None
        self.workers = []
        os.makedirs(os.path.join(self.folder, "temp"), exist_ok=True)
        # Workers run as nobody when started by root: they must be able to reach their folder.
        os.chmod(self.folder, 0o755)
        temp = os.path.join(self.folder, "temp")
        os.chmod(temp, 0o777)
        self.config = os.path.join(self.folder, "nginx.conf")
        with open(self.config, "w") as file:
            file.write(f"""worker_processes {workers};
daemon off;
master_process on;
pid {self.folder}/nginx.pid;
error_log {self.folder}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
{http_block}
}}
""")

    def start(self, ports, timeout=10):
        path = binary()
        if not path:
            raise RuntimeError("nginx is not installed (apt-get install nginx)")
        check = subprocess.run([path, "-t", "-p", self.folder, "-c", self.config], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError("nginx refuses the configuration:\n" + check.stderr)
        self.process = subprocess.Popen([path, "-p", self.folder, "-c", self.config],
                                        stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.folder, "stderr.log"), "ab"))
        deadline = time.time() + timeout
        waiting = list(ports)
        while waiting and time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("nginx exited:\n" + self.log())
            try:
                socket.create_connection(("127.0.0.1", waiting[0]), timeout=1).close()
                waiting.pop(0)
            except OSError:
                time.sleep(0.05)
        if waiting:
            raise RuntimeError(f"nginx does not listen on {waiting}:\n" + self.log())
        # Every worker is up once the master has forked them all (one per core with `auto`).
        expected = os.cpu_count() if self.workers_setting_is_auto() else None
        while time.time() < deadline:
            self.workers = procfs.children(self.process.pid)
            if not expected or len(self.workers) >= expected:
                break
            time.sleep(0.05)
        return self

    def workers_setting_is_auto(self):
        with open(self.config) as file:
            return file.readline().strip() == "worker_processes auto;"

    def pids(self):
        """The master and its workers, whose CPU time together is nginx's."""
        return [self.process.pid] + self.workers

    def log(self):
        text = ""
        for name in ("error.log", "stderr.log"):
            path = os.path.join(self.folder, name)
            if os.path.exists(path):
                text += open(path, errors="replace").read()[-3000:]
        return text

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: the workers finish and exit
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # Workers orphaned by a killed master would linger; end them by their ids.
        for pid in self.workers:
            if procfs.alive(pid) and procfs.name(pid) == "nginx" and procfs.parent(pid) in (1, self.process.pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def __enter__(self):
        return self

    def __exit__(self, *error):
        self.stop()


def auth_request_server(port, upstream, path):
    """A server block on 127.0.0.1:`port` whose every location is protected by `auth_request` to
    http://`upstream``path`, as deploy/nginx/snippets has it but with the upstream kept alive
    (HTTP/1.1, an empty Connection header) and the scheme written out as behind a TLS terminator.
    The protected location answers 204 from try_files, which runs after the access phase (a
    `return` would run before auth_request and protect nothing)."""
    return f"""
    server {{
        listen 127.0.0.1:{port};
        location = /internal/portcullis {{
            internal;
            proxy_pass http://{upstream}{path};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URL https://$host$request_uri;
            proxy_set_header X-Original-Method $request_method;
            proxy_set_header X-Forwarded-For $remote_addr;
        }}
        location @portcullis_login {{
            internal;
            if ($portcullis_location = "") {{
                return 401;
            }}
            return 302 $portcullis_location;
        }}
        location / {{
            auth_request /internal/portcullis;
            auth_request_set $portcullis_user $upstream_http_remote_user;
            auth_request_set $portcullis_groups $upstream_http_remote_groups;
            auth_request_set $portcullis_name $upstream_http_remote_name;
            auth_request_set $portcullis_email $upstream_http_remote_email;
            auth_request_set $portcullis_location $upstream_http_location;
            error_page 401 = @portcullis_login;
            try_files /nonexistent =204;
        }}
    }}"""
