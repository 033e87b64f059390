import { defineConfig } from "vite";

// `npm run dev` serves the source with hot reload and passes API calls to a local
// `lineageql serve` (default port).
const SERVER = "http://127.0.0.1:8000";

// The build goes into the Python package, which serves it at /ui/ (see api/ui.py). Asset paths
// are relative, so the page also works when the server is mounted under a prefix.
export default defineConfig({
  base: "./",
  server: {
    proxy: { "/graphql": SERVER, "/artifact-versions": SERVER },
  },
  build: {
    outDir: "../api/ui_static", // relative to this folder
    emptyOutDir: true,
    assetsDir: "assets",
    // The page's Content-Security-Policy allows no inline script: keep everything in files.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    // The minifier drops the bundled packages' license headers: ship their licenses beside.
    license: { fileName: "THIRD-PARTY-LICENSES.md" },
    chunkSizeWarningLimit: 700,
  },
});
