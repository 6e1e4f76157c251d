"""``/api/v1/docs``: the API's reference, rendered on the server from the generated OpenAPI document.

Our own page rather than a vendored Swagger UI or ReDoc: it works with JavaScript off and at 360 px like the rest
of the site, weighs a few kilobytes instead of a megabyte of vendored script, needs no CSP exception, and cannot
drift from the API because it reads the same ``api.spec`` that ``/api/v1/openapi.json`` serves."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("api_docs", __name__)

METHODS = ("get", "post", "put", "patch", "delete")


def operations(spec: dict) -> list[dict]:
    """The document's operations in path order, each with what the page shows."""
    out = []
    for path, item in sorted(spec.get("paths", {}).items()):
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            out.append({"method": method.upper(), "path": path, "summary": op.get("summary", ""),
                        "description": op.get("description", ""), "scopes": op.get("x-scopes", []),
                        "parameters": op.get("parameters", []) + item.get("parameters", []),
                        "request": op.get("requestBody"), "responses": op.get("responses", {}),
                        "tags": op.get("tags", []), "deprecated": op.get("deprecated", False),
                        "anchor": f"{method}-{path.strip('/').replace('/', '-').replace('{', '').replace('}', '')}"})
    return out


@bp.get("/docs")
def reference():
    spec = current_app.extensions["sempelmas_api"].spec.to_dict()
    resp = current_app.make_response(render_template("api/docs.html", spec=spec, operations=operations(spec),
                                                     schemas=spec.get("components", {}).get("schemas", {})))
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp
