#!/usr/bin/env node
// `npx pinhole …`: the desktop CLI (src/cli/main.ts: doctor, join), run through tsx like bin/pinhole-server.js,
// so it needs no build step. tsx's ESM register hook compiles .ts on import; see node_modules/tsx/dist/esm/api.
import { fileURLToPath } from 'node:url'
import { register } from 'tsx/esm/api'

register({ tsconfig: fileURLToPath(new URL('../tsconfig.node.json', import.meta.url)) })
const { runCli } = await import('../src/cli/main.ts')
runCli(process.argv.slice(2))
