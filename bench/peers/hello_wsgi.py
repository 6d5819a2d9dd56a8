# The uWSGI baseline: a Python WSGI application answering the same hello world.
# Run by bench/run.sh as: uwsgi --plugin python3 --wsgi-file bench/peers/hello_wsgi.py ...
BODY = b"Hello, world"


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(BODY)))])
    return [BODY]
