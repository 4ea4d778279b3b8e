"""Inventory service: a small Flask API with deliberately planted security flaws.

Every flaw sits on the line after a ``# planted: <what>`` comment; EXPECTED.md lists
which Bastion gate and rule must report each one. Do not deploy this.
"""

import hashlib
import os
import pickle
import random
import sqlite3
import subprocess
import tempfile

import jwt
import requests
import yaml
from flask import Flask, jsonify, render_template_string, request, send_file

app = Flask(__name__)
DATABASE = os.environ.get("INVENTORY_DB", "inventory.db")
REPORTS_DIR = "/srv/inventory/reports"
JWT_KEY = os.environ.get("INVENTORY_JWT_KEY", "")
SUPPLIER_URL = "https://supplier.example/api/stock"


def db():
    return sqlite3.connect(DATABASE)


@app.route("/items")
def search_items():
    name = request.args.get("name", "")
    # planted: SQL injection (formatting)
    query = "SELECT id, name, qty FROM items WHERE name = '%s'" % name
    rows = db().execute(query).fetchall()
    return jsonify(rows)


@app.route("/items/<int:item_id>", methods=["DELETE"])
def delete_item(item_id):
    owner = request.args.get("owner", "")
    # planted: SQL injection (f-string)
    db().execute(f"DELETE FROM items WHERE id = {item_id} AND owner = '{owner}'")
    return "", 204


@app.route("/ping")
def ping():
    host = request.args.get("host", "localhost")
    # planted: command injection
    out = subprocess.check_output(f"ping -c 1 {host}", shell=True)
    return out


@app.route("/backup", methods=["POST"])
def backup():
    target = request.form["target"]
    # planted: command injection via os.system
    os.system("tar czf /tmp/backup.tgz " + target)
    return "started"


@app.route("/calc")
def calc():
    expression = request.args.get("expr", "0")
    # planted: code injection via eval
    return str(eval(expression))


@app.route("/import", methods=["POST"])
def import_items():
    # planted: unsafe deserialisation (pickle)
    items = pickle.loads(request.get_data())
    return jsonify(count=len(items))


@app.route("/config", methods=["POST"])
def load_config():
    # planted: unsafe YAML load
    config = yaml.load(request.get_data(), Loader=yaml.Loader)
    return jsonify(config)


@app.route("/register", methods=["POST"])
def register():
    password = request.form["password"]
    # planted: weak password hash (MD5)
    digest = hashlib.md5(password.encode()).hexdigest()
    db().execute(
        "INSERT INTO users (name, pw) VALUES (?, ?)", (request.form["name"], digest)
    )
    return "", 201


@app.route("/session", methods=["POST"])
def new_session():
    # planted: insecure randomness for a session token
    token = "".join(random.choice("abcdef0123456789") for _ in range(32))
    return jsonify(token=token)


@app.route("/fetch")
def fetch():
    url = request.args["url"]
    # planted: server-side request forgery
    return requests.get(url, timeout=5).text


@app.route("/supplier")
def supplier():
    # planted: TLS verification disabled
    return requests.get(SUPPLIER_URL, verify=False, timeout=5).text


@app.route("/reports")
def report():
    name = request.args["name"]
    # planted: path traversal
    return send_file(os.path.join(REPORTS_DIR, name))


@app.route("/whoami")
def whoami():
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    # planted: JWT signature not verified
    claims = jwt.decode(token, options={"verify_signature": False})
    return jsonify(claims)


@app.route("/hello")
def hello():
    name = request.args.get("name", "world")
    # planted: server-side template injection
    return render_template_string("<h1>Hello " + name + "</h1>")


@app.route("/export")
def export():
    # planted: insecure temporary file
    path = tempfile.mktemp(suffix=".csv")
    with open(path, "w") as handle:
        handle.write("id,name,qty\n")
    return send_file(path)


if __name__ == "__main__":
    # planted: Flask debug mode on all interfaces
    app.run(host="0.0.0.0", port=8080, debug=True)
