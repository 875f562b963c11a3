/**
 * `pinhole join` with a short reconnect budget, inside a lab namespace: the CLI has no flag for the budget,
 * so this runs its `main` in-process with the engine's `call.reconnect` policy injected (the JoinOptions
 * test seam). Usage: node --import tsx joinBudget.mts BUDGET_MS join-args…
 */
import { main } from '../../../src/cli/main'
import { processIo } from '../../../src/cli/io'
import { backoffPolicy } from '../../../src/engine/reconnectPolicy'

const [budget = '', ...args] = process.argv.slice(2)
const budgetMs = Number(budget)
if (!Number.isInteger(budgetMs) || budgetMs <= 0)
  throw new Error(`budget must be a positive integer, not '${budget}'`)
const reconnect = backoffPolicy({ budgetMs })
main(['join', ...args], processIo(), { join: { engineOptions: { call: { reconnect } } } }).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`joinBudget: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exit(1)
  },
)
