"""Static files of the web UI: ``/static`` (``web/static``), ``/vendor/three`` — three.js
served at run time from ``node_modules/three``, which the pages import through an import
map — and ``/vendor/swagger-ui`` (``node_modules/swagger-ui-dist``, the API docs at
``/docs``). Both are installed by ``npm ci`` from package-lock.json; no CDN."""

from __future__ import annotations

import hashlib
import logging

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from configurator.settings import REPO_ROOT

log = logging.getLogger(__name__)

WEB_DIR = REPO_ROOT / "web"
STATIC_DIR = WEB_DIR / "static"
TEMPLATE_DIR = WEB_DIR / "templates"
THREE_DIR = REPO_ROOT / "node_modules" / "three"
SWAGGER_DIR = REPO_ROOT / "node_modules" / "swagger-ui-dist"
SWAGGER_URL = "/vendor/swagger-ui"


def _static_version() -> str:
    """A short hash of the static files (cache-busting query string)."""
    h = hashlib.sha256()
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file():
            st = path.stat()
            h.update(f"{path.relative_to(STATIC_DIR)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:10]


_VERSION = _static_version()


def static_url(path: str) -> str:
    """URL of a static file with the cache-busting version."""
    return f"/static/{path}?v={_VERSION}"


def mount_static(app: FastAPI) -> None:
    """Mount ``/static`` and three.js (when installed) on ``app``."""
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    if (THREE_DIR / "build" / "three.module.js").is_file():
        app.mount(
            "/vendor/three/build", StaticFiles(directory=str(THREE_DIR / "build")), name="three"
        )
        app.mount(
            "/vendor/three/examples/jsm",
            StaticFiles(directory=str(THREE_DIR / "examples" / "jsm")),
            name="three-addons",
        )
    else:
        log.warning(
            "three.js not found in %s: the 3D preview is disabled (run `npm ci` or scripts/setup.sh)",
            THREE_DIR,
        )
    if (SWAGGER_DIR / "swagger-ui-bundle.js").is_file():
        app.mount(SWAGGER_URL, StaticFiles(directory=str(SWAGGER_DIR)), name="swagger-ui")
    else:
        log.warning(
            "swagger-ui-dist not found in %s: /docs is unavailable (run `npm ci` or "
            "scripts/setup.sh)",
            SWAGGER_DIR,
        )
