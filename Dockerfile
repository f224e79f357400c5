# Evalgraph runs its TypeScript through tsx: there is no compile step, only the Prisma client to generate.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Dropping devDependencies first confines npm ci's lockfile check to the production tree (the lock lacks
# some dev tools' other-platform binaries). Install scripts would only download Prisma's native engines
# and re-check esbuild's binary: Evalgraph migrates with the WASM engine and queries through driver adapters.
RUN npm pkg delete devDependencies \
 && npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY tsconfig.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts ./scripts
# Needs no database: prisma.config.ts falls back to a placeholder URL.
RUN npm run generate

FROM ${NODE_IMAGE}
ENV HOST=0.0.0.0 PORT=4000 NODE_ENV=production EVALGRAPH_DATA_DIR=/data
WORKDIR /app
# The code stays root-owned so the app cannot rewrite itself; only its data directory is node's.
RUN mkdir -p /data && chown node:node /data
COPY --from=build /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json prisma.config.ts ./
COPY prisma ./prisma
COPY scripts ./scripts
COPY bin ./bin
COPY schema ./schema
COPY src ./src
COPY --from=build /app/src/generated ./src/generated
USER node
# Embedded PGlite keeps its database here when DATABASE_URL is unset.
VOLUME /data
EXPOSE 4000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||4000)+'/health/live',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node itself runs the server (tsx loaded in process): SIGTERM reaches its graceful shutdown directly.
CMD ["node", "bin/evalgraph.js", "serve"]
