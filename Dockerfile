# sanyao's container image: `sanyao serve` on 0.0.0.0:8080, its data in the volume /data, as the user `node`.
#   docker build -t sanyao .
#   docker run -p 8080:8080 -v sanyao-data:/data sanyao
# Any other command of the CLI runs the same way: docker run --rm -v sanyao-data:/data sanyao accounts list

# Build: every dependency, the compiler, and the tools to compile better-sqlite3 where no prebuilt binary is
# reachable. It compiles against this same base, so the binary fits the runtime stage.
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts but better-sqlite3's: `prepare` (the compiler) needs the sources, copied after this layer.
# An npm configuration, if the builder passes one (--secret id=npmrc,src=...), is mounted, never copied.
RUN --mount=type=secret,id=npmrc,target=/root/.npmrc \
    npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3
COPY tsconfig.json ./
COPY src ./src
# The web console: built here by esbuild (a development dependency), shipped as dist/console's files only.
COPY console ./console
# Then the development dependencies go, and of better-sqlite3 all but its compiled module (sources, objects).
RUN npx tsc -p tsconfig.json \
 && node console/build.mjs \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/better-sqlite3/deps node_modules/better-sqlite3/src node_modules/better-sqlite3/build/Release/obj* \
           node_modules/better-sqlite3/build/Release/.deps node_modules/better-sqlite3/build/Release/test_extension.node

# Runtime: production dependencies and the compiled code only.
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    SANYAO_HOST=0.0.0.0 \
    SANYAO_PORT=8080 \
    SANYAO_DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
COPY bin ./bin
COPY tables ./tables
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/console ./dist/console
RUN ln -s /app/bin/sanyao.js /usr/local/bin/sanyao \
 && mkdir /data && chown node:node /data
VOLUME /data
USER node
EXPOSE 8080
# Follows SANYAO_PORT (and SANYAO_HOST): set those to move the server, not `serve --port`.
HEALTHCHECK --interval=5s --timeout=4s --start-period=30s --retries=3 CMD ["node", "/app/dist/src/cli/healthcheck.js"]
# node is PID 1 and handles SIGTERM itself: requests in flight are answered, then it exits 0.
ENTRYPOINT ["node", "/app/bin/sanyao.js"]
CMD ["serve"]
