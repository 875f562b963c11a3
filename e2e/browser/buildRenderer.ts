import { resolve } from 'node:path'
import react from '@vitejs/plugin-react'
import { build } from 'vite'

/**
 * Builds the renderer alone (what electron-vite's renderer step makes) into `outDir`: the loopback test
 * serves it without touching `out/`, which other builds own.
 */
export async function buildRenderer(outDir: string): Promise<void> {
  await build({
    root: resolve(process.cwd(), 'src/renderer'),
    base: './',
    configFile: false,
    logLevel: 'warn',
    mode: 'production',
    plugins: [react()],
    build: { outDir, emptyOutDir: true, sourcemap: false },
  })
}
