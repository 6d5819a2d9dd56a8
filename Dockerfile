# tscgi: FastCGI on 0.0.0.0:9000 for an nginx next to it, the embedded HTTP front on 8080.
# Mount your scripts over /app/cgi-bin (docker run -v $PWD/cgi-bin:/app/cgi-bin ...).
FROM node:24-slim

WORKDIR /app
ENV NODE_ENV=production

COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY src ./src
COPY bin ./bin
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && node scripts/build.js \
 && npm cache clean --force

COPY cgi-bin ./cgi-bin
COPY conf ./conf

# In a container the web server is another host: listen beyond loopback.
ENV TSCGI_LISTEN=0.0.0.0:9000 \
    TSCGI_HTTP=0.0.0.0:8080
EXPOSE 9000 8080

USER node
STOPSIGNAL SIGTERM
# A worker answers FastCGI (FCGI_GET_VALUES, or ping_path when it is set): exit 0 means healthy.
HEALTHCHECK --interval=15s --timeout=5s --start-period=5s CMD ["node", "bin/tscgi.js", "ping", "--timeout", "3s"]
CMD ["node", "bin/tscgi.js", "serve"]
