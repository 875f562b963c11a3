#!/usr/bin/env node
// `npx pinhole …`: the desktop CLI (src/cli/main.ts: doctor, join), compiled to out/node/ by `npm run build`;
// in a source checkout without a current build, the source through tsx. See bin/launch.js.
import { launch } from './launch.js'

await launch({ name: 'pinhole', compiled: 'pinhole.js', source: 'src/cli/main.ts' })
