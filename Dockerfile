# syntax=docker/dockerfile:1
# Multi-stage: build with the toolchain (sqlite3 compiles from source), run on a slim image as a non-root user.

FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY commands ./commands
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    STORAGE_URL=sqlite:///app/data/bot.sqlite \
    LOG_FORMAT=json \
    HTTP_PORT=9464
# glibc gives every thread (libuv's pool, sqlite, sharp's libvips) its own malloc arena, and freed memory stays in
# them: in a burst that is ~100 MB of resident memory the bot no longer uses. Two arenas keep it near the live size.
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
# Fonts for the text of /quota-admin usage charts (sharp draws SVG text through librsvg and fontconfig; the slim
# image has no fonts at all): DejaVu for Latin, Greek and Cyrillic, IPA Gothic for Japanese.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-dejavu-core fonts-ipafont-gothic \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
RUN mkdir -p /app/data && chown node:node /app/data
USER node
# The SQLite file (jobs, quotas, kept results) lives here: mount a volume so it survives the container.
VOLUME ["/app/data"]
# SIGTERM → the bot stops taking work, saves, and exits within ~10 s; unfinished jobs resume at the next start.
STOPSIGNAL SIGTERM
# Healthy = connected to Discord's gateway and storage answers (GET /healthz on HTTP_PORT; a node script, as slim
# images have no curl). It prints the bot's reasons, which `docker inspect` shows.
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 CMD ["node", "dist/src/healthcheck.js"]
# Node flags: src/node-flags.ts (a small young generation, an old one kept near its live size: ~150 MB less under load).
CMD ["node", "--max-semi-space-size=4", "--heap-growing-percent=50", "dist/src/index.js"]
