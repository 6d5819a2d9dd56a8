#!/bin/sh
# The image's entrypoint, as php:fpm's: options and tscgi's commands go to tscgi
# (docker run IMAGE -t, IMAGE --workers 4, IMAGE ping); anything else runs as given (IMAGE sh).
set -e
case "$1" in
  -* | serve | cgi | ping | status | help | version) set -- tscgi "$@" ;;
esac
exec "$@"
