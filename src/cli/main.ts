import { UsageError } from './args'
import { DOCTOR_USAGE, doctorCommand, type DoctorOptions } from './doctor'
import { ExitCode, processIo, type CliIo } from './io'
import type { JoinOptions } from './join'

/** `pinhole`: the desktop CLI (docs/cli.md). Not the server CLI, which is `pinhole-server`. */

const NAME = 'pinhole'

export const USAGE = `Usage: ${NAME} <command> [options]

Commands:
  doctor   check each whitelisted endpoint of a proxy region from this computer; prints reachable /
           blocked / refused / unresolved, the round trip and the firewall rule for each blocked one
  join     join a channel through the cloud proxy; prints every engine event as a JSON line
  help     this text; '${NAME} <command> --help' for a command's options

Exit codes: 0 ok; 1 join failed or the call ended; 2 usage error; 3 doctor found an endpoint not reachable.
See docs/cli.md.
`

export type { CliIo } from './io'

export interface MainOptions {
  doctor?: DoctorOptions
  join?: JoinOptions
}

/** Runs one command; resolves with the process exit code. */
export async function main(
  argv: readonly string[],
  io: CliIo = processIo(),
  options: MainOptions = {},
): Promise<ExitCode> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case 'doctor':
        return await doctorCommand(rest, io, options.doctor)
      case 'join': {
        // Loaded only for join: the engine's call brings werift, which doctor and --help do without.
        const { joinCommand } = await import('./join')
        return await joinCommand(rest, io, options.join)
      }
      case 'help':
      case '--help':
      case '-h':
        io.stdout(await helpFor(rest[0]))
        return ExitCode.Ok
      case undefined:
        io.stderr(USAGE)
        return ExitCode.Usage
      default:
        throw new UsageError(`unknown command '${command}'`)
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    const help = command === 'doctor' || command === 'join' ? `${NAME} ${command} --help` : `${NAME} --help`
    io.stderr(`${NAME}: ${err.message}\nTry '${help}'.\n`)
    return ExitCode.Usage
  }
}

async function helpFor(command: string | undefined): Promise<string> {
  if (command === 'doctor') return DOCTOR_USAGE
  if (command === 'join') return (await import('./join')).JOIN_USAGE
  return USAGE
}

/** The bin shim's entry: runs, then exits with the code (werift or a lingering socket must not hold it). */
export function runCli(argv: readonly string[]): void {
  main(argv).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(
        `${NAME}: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      )
      process.exit(ExitCode.Failed)
    },
  )
}
