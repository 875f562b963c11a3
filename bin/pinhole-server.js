#!/usr/bin/env node
// `npx pinhole-server …`: runs the TypeScript CLI (src/server/cli.ts) through tsx, so the server needs no
// build step. tsx's ESM register hook compiles .ts on import; see node_modules/tsx/dist/esm/api.
import { fileURLToPath } from 'node:url'
import { register } from 'tsx/esm/api'

register({ tsconfig: fileURLToPath(new URL('../tsconfig.node.json', import.meta.url)) })
const { runCli } = await import('../src/server/cli.ts')
runCli(process.argv.slice(2))
