"""What every response carries for the browser's protection, who the client is behind proxies, and a web
server that does not announce itself."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wrappers import Response

from urjamitra.settings import Settings

# No inline script anywhere (pages use no script at all today; a script must be a file under /static), no
# framing, forms post only to us. Styles are files too; `data:` images are for QR codes.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HSTS = "max-age=31536000; includeSubDomains"


def install_security(app: Flask, settings: Settings) -> None:
    """Security headers on every response; ProxyFix for exactly the configured number of trusted proxies."""
    proxies = settings.trusted_proxies
    if proxies:
        # Only the last `proxies` hops of X-Forwarded-* are believed: a client's own header is ignored.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)  # type: ignore[method-assign]
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
        "Referrer-Policy": "same-origin",  # URLs carry account and complaint numbers: never sent elsewhere
    }
    if settings.public_url.startswith("https:"):
        headers["Strict-Transport-Security"] = HSTS

    @app.after_request
    def _protect(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler without the `Server: Werkzeug/x.y Python/x.y` banner."""

    def send_response(self, code: int, message: str | None = None) -> None:
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())
