# tscgi's image, used as php:fpm is: FastCGI on port 9000 for a web server next to it, scripts
# mounted on /app/cgi-bin. docs/docker.md explains every choice below.

# Build stage: the runtime dependencies (esbuild compiles scripts at run time) and dist/.
FROM node:24-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
RUN node scripts/build.js

# Runtime stage: node_modules, dist/, bin/ and the image's conf; no sources, tests or npm cache.
FROM node:24-slim
# tini is PID 1: it forwards signals to tscgi and reaps processes that scripts leave behind.
# /run/tscgi, owned by the runtime user, holds a Unix socket shared with a web server's container.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
 && mkdir -p /app/cgi-bin /run/tscgi && chown node:node /run/tscgi
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY docker/tscgi.conf ./conf/tscgi.conf
COPY docker/entrypoint.sh /usr/local/bin/docker-tscgi-entrypoint
RUN ln -s /app/bin/tscgi.js /usr/local/bin/tscgi

LABEL org.opencontainers.image.title="tscgi" \
      org.opencontainers.image.description="FastCGI application server for TypeScript scripts" \
      org.opencontainers.image.licenses="MIT"
# FastCGI only: the development HTTP front stays off unless TSCGI_HTTP turns it on.
EXPOSE 9000
USER node
STOPSIGNAL SIGTERM
# A worker answers ping_path (conf/tscgi.conf sets /ping): a real request, not only the listener.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["tscgi", "ping", "--timeout", "3s"]
ENTRYPOINT ["tini", "--", "docker-tscgi-entrypoint"]
CMD ["tscgi", "serve"]
