import { defineConfig } from "vite";

// `npm run dev` serves the source with hot reload and passes API calls to a local
// `lineageql serve` (default port).
const SERVER = "http://127.0.0.1:8000";

// The build goes into the Python package, which serves it: the explorer (index.html) at /ui/
// (see api/ui.py) and GraphiQL (graphiql.html) at GET /graphql (see api/graphiql.py). Asset
// paths are relative, so the pages also work when the server is mounted under a prefix.
export default defineConfig({
  base: "./",
  server: {
    proxy: { "/graphql": SERVER, "/artifact-versions": SERVER },
  },
  build: {
    outDir: "../api/ui_static", // relative to this folder
    emptyOutDir: true,
    assetsDir: "assets",
    // Paths relative to this folder (`npm run build` runs here).
    rollupOptions: {
      input: {
        index: "index.html",
        graphiql: "graphiql.html",
      },
      // GraphiQL's React packages mark modules "use client", which means nothing in a page.
      onwarn(warning, warn) {
        if (warning.code !== "MODULE_LEVEL_DIRECTIVE") warn(warning);
      },
    },
    // The pages' Content-Security-Policy allows no inline script: keep everything in files.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    // The minifier drops the bundled packages' license headers: ship their licenses beside.
    license: { fileName: "THIRD-PARTY-LICENSES.md" },
    chunkSizeWarningLimit: 2000,
  },
  experimental: {
    // GraphiQL's page is served at /graphql, beside /ui/: its files are under ./ui/assets/.
    renderBuiltUrl(filename, { hostId, hostType }) {
      if (hostType === "html" && hostId.endsWith("graphiql.html")) return `./ui/${filename}`;
      return { relative: true };
    },
  },
});
