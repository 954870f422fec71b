# flowmesh node image: multi-stage, production dependencies only, runs as the unprivileged `node` user.
# Build: docker build -t flowmesh .   Run: see docker-compose.yml (PostgreSQL + Redis + nodes).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY web ./web
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    PORT=8080 \
    RUNNER_PORT=34431 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/web/dist ./web/dist
# Only used when DATABASE_URL is unset (embedded PostgreSQL); a deployment sets DATABASE_URL.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080 34431
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# SIGTERM: stop accepting, answer in-flight requests and frames, drain the writer, release shards, exit 0.
STOPSIGNAL SIGTERM
CMD ["node", "--max-semi-space-size=64", "dist/main.js"]
