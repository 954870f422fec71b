/**
 * The dashboard's build: `vite build web` (root web/) writes web/dist, which the node serves
 * (src/ui/web-dashboard.ts). `vite web` serves it in development against a node on :8080.
 */
import { defineConfig } from "vite"

const NODE = "http://127.0.0.1:8080"

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // Every browser the dashboard supports has modulepreload.
    modulePreload: { polyfill: false }
  },
  server: {
    proxy: {
      "/api": NODE,
      "/ready": NODE,
      "/metrics": NODE,
      "/ws": { target: NODE, ws: true }
    }
  }
})
