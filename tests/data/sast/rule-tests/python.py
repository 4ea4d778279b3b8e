# Annotated cases for Bastion's Python rules (`semgrep --test`): every `ruleid:` line must
# match that rule and every `ok:` line must not. Not executed; never imported.
# ruff: noqa
import hashlib
import os
import pickle
import random
import secrets
import subprocess
import tarfile
import tempfile

import jwt
import requests
import yaml
from flask import Flask, render_template_string, request, send_file, send_from_directory

app = Flask(__name__)


def sql(db, name):
    # ruleid: py-sql-built-from-strings
    db.execute("SELECT * FROM t WHERE name = '%s'" % name)
    # ruleid: py-sql-built-from-strings
    db.execute(f"SELECT * FROM t WHERE name = '{name}'")
    # ok: py-sql-built-from-strings
    db.execute("SELECT * FROM t WHERE name = ?", (name,))


def shell(host):
    # ruleid: py-subprocess-shell
    subprocess.run(f"ping {host}", shell=True)
    # ok: py-subprocess-shell
    subprocess.run("ls -l", shell=True)
    # ok: py-subprocess-shell
    subprocess.run(["ping", host])
    # ruleid: py-os-system
    os.system("rm " + host)
    # ok: py-os-system
    os.system("sync")


def code(text):
    # ruleid: py-eval-dynamic
    eval(text)
    # ok: py-eval-dynamic
    eval("1 + 1")


def data(blob):
    # ruleid: py-pickle-untrusted
    pickle.loads(blob)
    # ruleid: py-yaml-unsafe-load
    yaml.load(blob, Loader=yaml.Loader)
    # ok: py-yaml-unsafe-load
    yaml.load(blob, Loader=yaml.SafeLoader)
    # ok: py-yaml-unsafe-load
    yaml.safe_load(blob)


def crypto(password):
    # ruleid: py-weak-hash
    hashlib.md5(password)
    # ok: py-weak-hash
    hashlib.md5(password, usedforsecurity=False)
    # ok: py-weak-hash
    hashlib.sha256(password)
    # ruleid: py-insecure-random-secret
    reset_token = str(random.random())
    # ok: py-insecure-random-secret
    session_token = secrets.token_hex(16)
    # ok: py-insecure-random-secret
    colour = random.choice("rgb")


@app.route("/fetch")
def fetch():
    url = request.args["url"]
    # ruleid: py-ssrf-request-url
    requests.get(url, timeout=5)
    # ok: py-ssrf-request-url
    requests.get("https://api.example/status", timeout=5)
    # ruleid: py-tls-verify-disabled
    requests.get("https://api.example/status", verify=False, timeout=5)


@app.route("/file")
def file():
    name = request.args["name"]
    # ruleid: py-path-traversal
    send_file(os.path.join("/srv", name))
    # ok: py-path-traversal
    send_file(os.path.join("/srv", os.path.basename(name)))
    # ok: py-path-traversal
    send_from_directory("/srv", name)


def tokens(token, key):
    # ruleid: py-jwt-unverified
    jwt.decode(token, options={"verify_signature": False})
    # ok: py-jwt-unverified
    jwt.decode(token, key, algorithms=["HS256"])


def templates(name):
    # ruleid: py-template-injection
    render_template_string("<p>" + name + "</p>")
    # ok: py-template-injection
    render_template_string("<p>{{ name }}</p>", name=name)


def files(archive):
    # ruleid: py-insecure-tempfile
    tempfile.mktemp()
    # ok: py-insecure-tempfile
    tempfile.mkstemp()
    with tarfile.open(archive) as tar:
        # ruleid: py-tar-extract-unfiltered
        tar.extractall("/tmp/out")
        # ok: py-tar-extract-unfiltered
        tar.extractall("/tmp/out", filter="data")


def cookies(resp):
    # ruleid: py-cookie-insecure
    resp.set_cookie("session", "v", secure=False)
    # ok: py-cookie-insecure
    resp.set_cookie("session", "v", secure=True, httponly=True)


if __name__ == "__main__":
    # ruleid: py-flask-debug, py-bind-all-interfaces
    app.run(host="0.0.0.0", debug=True)
    # ok: py-flask-debug, py-bind-all-interfaces
    app.run(host="127.0.0.1")
