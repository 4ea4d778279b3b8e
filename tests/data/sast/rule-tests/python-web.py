# Annotated cases for python-web.yml: `ruleid:` lines must match, `ok:` lines must not.
# Realistic handler code in the shapes Flask, Django and FastAPI applications use.
import csv
import io
from django.db.models.expressions import RawSQL
from django.http import HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.csrf import csrf_exempt
from flask import Flask, Response, redirect, render_template_string, request, url_for
from lxml import etree
from markupsafe import Markup, escape

from shop.models import Order

app = Flask(__name__)


@app.route("/login/done")
def after_login():
    target = request.args.get("next", "/")
    # ruleid: py-open-redirect
    return redirect(target)


@app.route("/logout")
def after_logout():
    # ok: py-open-redirect
    return redirect(url_for("index"))


def django_next(request):
    nxt = request.GET.get("next", "/")
    if url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        # ok: py-open-redirect
        return HttpResponseRedirect(nxt)
    # ruleid: py-open-redirect
    return HttpResponseRedirect(request.GET["fallback"])


@app.route("/greet")
def greet():
    name = request.args.get("name", "")
    # ruleid: py-markup-xss
    return Markup("<h1>Hello " + name + "</h1>")


@app.route("/greet-safely")
def greet_safely():
    name = request.args.get("name", "")
    # ok: py-markup-xss
    return Markup("<h1>Hello %s</h1>") % escape(name)


def bio(request):
    # ruleid: py-markup-xss
    return mark_safe(request.POST["bio"])


@app.route("/comment/<int:cid>")
def comment(cid):
    # ruleid: py-template-safe-filter
    return render_template_string("<p>{{ body|safe }}</p>", body=load_comment(cid))


@app.route("/comment-escaped/<int:cid>")
def comment_escaped(cid):
    # ok: py-template-safe-filter
    return render_template_string("<p>{{ body }}</p>", body=load_comment(cid))


@app.route("/export")
def export():
    out = io.StringIO()
    writer = csv.writer(out)
    # ruleid: py-csv-formula-injection
    writer.writerow(["note", request.args["note"]])
    return Response(out.getvalue(), mimetype="text/csv")


@app.route("/export-safe")
def export_safe():
    out = io.StringIO()
    writer = csv.writer(out)
    # ok: py-csv-formula-injection
    writer.writerow(["note", escape_csv_cell(request.args["note"])])
    return Response(out.getvalue(), mimetype="text/csv")


@app.route("/import", methods=["POST"])
def import_feed():
    # ruleid: py-xxe-parser
    parser = etree.XMLParser(resolve_entities=True)
    return etree.fromstring(request.data, parser)


@app.route("/import-plain", methods=["POST"])
def import_plain():
    # ruleid: py-xxe-parser
    return etree.fromstring(request.data)


@app.route("/import-hardened", methods=["POST"])
def import_hardened():
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    # ok: py-xxe-parser
    return etree.fromstring(request.data, parser)


def orders_by_status(status):
    # ruleid: py-django-raw-sql-formatted
    return Order.objects.raw("SELECT * FROM shop_order WHERE status = '%s'" % status)


def orders_by_status_params(status):
    # ok: py-django-raw-sql-formatted
    return Order.objects.raw("SELECT * FROM shop_order WHERE status = %s", [status])


def recent(days):
    # ruleid: py-django-raw-sql-formatted
    return Order.objects.extra(where=[f"created > now() - interval '{days} days'"])


def annotated(rate):
    # ruleid: py-django-raw-sql-formatted
    return Order.objects.annotate(net=RawSQL("total * %s" % rate, ()))


def annotated_params(rate):
    # ok: py-django-raw-sql-formatted
    return Order.objects.annotate(net=RawSQL("total * %s", (rate,)))


# ruleid: py-django-csrf-exempt
@csrf_exempt
def payment_webhook(request):
    return handle(request.body)


# ok: py-django-csrf-exempt
def payment_form(request):
    return handle(request.POST)


def load_comment(cid):
    return cid


def escape_csv_cell(value):
    return "'" + value if value[:1] in "=+-@" else value


def handle(body):
    return body
