#!/usr/bin/env node
// `npx pinhole-server …`: the server command (src/server/cli.ts), compiled to out/node/ by `npm run build`;
// in a source checkout without a current build, the source through tsx. See bin/launch.js.
import { launch } from './launch.js'

await launch({ name: 'pinhole-server', compiled: 'pinhole-server.js', source: 'src/server/cli.ts' })
