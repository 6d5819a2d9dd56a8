#!/bin/sh
# Classic CGI entry for Apache mod_cgi/mod_cgid (conf/apache-cgi.conf): one request, run by tscgi,
# which finds the script from the URL under TSCGI_ROOT. Make it executable (chmod 755).
# No "$@": Apache turns a query string without "=" into command-line words, and those must never
# name a file to run.
# EDIT: where tscgi is installed (npm install -g tscgi puts it in /usr/local/bin)
exec /usr/local/bin/tscgi cgi
