import {
  networkCheckOutline,
  regionVerdict,
  type NetworkCheckRegion,
  type NetworkCheckReport,
  type NetworkCheckRow,
} from '../../shared/networkCheck'
import { formatClock, formatRtt } from '../logic/format'
import { checkedEndpointsWords, portsOfRegions, portsOfReport } from '../logic/networkWords'
import { useApp, useController } from './context'

const STATUS_WORDS: Record<NetworkCheckRow['status'], string> = {
  reachable: 'reachable',
  blocked: 'blocked',
  refused: 'refused',
  unresolved: 'name not resolved',
  error: 'error',
}

/** The rule column: the rule, or for what no rule fixes, who acts instead (issue 10 item 9). */
function ruleCell(row: NetworkCheckRow): string {
  if (row.rule !== undefined) return row.rule
  switch (row.status) {
    case 'reachable':
      return ''
    case 'refused':
      return 'none: nothing listens there, the proxy is not running; contact whoever runs it'
    case 'unresolved':
      return 'none: the proxy name does not resolve (DNS); check the region’s proxy address'
    default:
      return '—'
  }
}

function RegionTable(props: { region: NetworkCheckRegion }): React.JSX.Element {
  const { region } = props
  return (
    <table className="network-table" data-testid={`network-region-${region.id}`} data-ok={String(region.ok)}>
      <caption>
        <span className="region-name">{region.name}</span> <code>{region.proxyHost}</code>
        <span className={region.ok ? 'good' : 'bad'}>{` ${regionVerdict(region)}`}</span>
      </caption>
      <thead>
        <tr>
          <th scope="col">Endpoint</th>
          <th scope="col">Target</th>
          <th scope="col">Status</th>
          <th scope="col">Round trip</th>
          <th scope="col">Missing firewall rule</th>
        </tr>
      </thead>
      <tbody>
        {region.rows.map((row) => (
          <tr key={row.endpoint} data-testid={`network-row-${row.endpoint}`} data-status={row.status}>
            <th scope="row">
              {row.check}
              <div className="muted detail">{row.detail}</div>
            </th>
            <td data-testid="network-target">
              <code>{row.target}</code>
            </td>
            <td data-testid="network-status" className={`status-${row.status}`}>
              {STATUS_WORDS[row.status]}
              {row.errorCode === undefined ? null : <code> {row.errorCode}</code>}
            </td>
            <td data-testid="network-rtt">{formatRtt(row.rttMs)}</td>
            <td data-testid="network-rule">{ruleCell(row)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

function ExportResult(): React.JSX.Element | null {
  const result = useApp((s) => s.diagnosticsExport)
  if (result.status === 'idle') return null
  return (
    <p className="export-result" data-testid="export-result" data-status={result.status}>
      {result.status === 'writing' ? 'Writing the diagnostics file…' : null}
      {result.status === 'written' ? (
        <>
          Diagnostics written to <code data-testid="export-path">{result.path}</code>. Attach this file to
          your IT ticket: tokens, passwords and secrets in it are replaced by [redacted].
        </>
      ) : null}
      {result.status === 'failed' ? <span className="problem">{result.sentence}</span> : null}
    </p>
  )
}

/**
 * The verdict in one line and what to do as a list, not one paragraph naming every endpoint (the table
 * does that): with two regions down, the paragraph filled the window. The export keeps the full paragraph.
 */
function NetworkSummary(props: { report: NetworkCheckReport }): React.JSX.Element {
  const { report } = props
  const outline = networkCheckOutline(report.regions)
  return (
    <div
      className={`network-summary ${report.ok ? 'good' : 'bad'}`}
      data-testid="network-summary"
      data-ok={String(report.ok)}
    >
      <p className="network-headline">{outline.headline}</p>
      {outline.actions.length > 0 ? (
        <ul className="network-actions" data-testid="network-actions">
          {outline.actions.map((action) => (
            <li key={action}>{action}</li>
          ))}
        </ul>
      ) : null}
    </div>
  )
}

/**
 * "Network check" (issue 6): the doctor's checks of every region from this computer — its UDP ports, its
 * TLS port, the session API (through the corporate HTTP proxy when the policy sets one; the description
 * names the real ports) — as one table per region with the firewall rule each blocked endpoint needs, a
 * summary IT can act on, and the export.
 */
export function NetworkCheckView(): React.JSX.Element {
  const report = useApp((s) => s.networkReport)
  const checking = useApp((s) => s.networkChecking)
  const problem = useApp((s) => s.networkProblem)
  const writing = useApp((s) => s.diagnosticsExport.status === 'writing')
  const regions = useApp((s) => s.settings?.regions)
  // The ports the last check probed, or before one the regions' (the embedded stack's are not 3478/443).
  const endpoints = checkedEndpointsWords(report ? portsOfReport(report) : portsOfRegions(regions ?? []))
  const controller = useController()
  return (
    <section className="panel network" aria-labelledby="network-title" data-testid="network-check">
      <h2 id="network-title">Network check</h2>
      <p className="hint" data-testid="network-description">
        Checks every whitelisted endpoint of each region from this computer: {endpoints}. For each one that
        does not answer, it names the firewall rule your IT department has to add.
      </p>
      <div className="controls">
        <button
          type="button"
          className="primary"
          data-testid="network-run"
          disabled={checking}
          onClick={() => void controller.runNetworkCheck()}
        >
          {checking ? 'Checking…' : report ? 'Run again' : 'Run network check'}
        </button>
        <button
          type="button"
          data-testid="export-diagnostics"
          disabled={writing}
          onClick={() => void controller.exportDiagnostics()}
        >
          Export diagnostics
        </button>
      </div>
      <ExportResult />
      {problem ? (
        <p className="problem" data-testid="network-problem">
          {problem}
        </p>
      ) : null}
      {report ? (
        <>
          <NetworkSummary report={report} />
          {report.httpProxy ? (
            <p className="hint" data-testid="network-http-proxy">
              TLS and the session API were checked through the corporate HTTP proxy {report.httpProxy} (set by
              the IT policy); UDP goes direct.
            </p>
          ) : null}
          {report.regions.map((region) => (
            <RegionTable key={region.id} region={region} />
          ))}
          <p className="hint">
            Checked at {formatClock(Date.parse(report.startedAt))}, in {Math.round(report.durationMs)} ms.
          </p>
        </>
      ) : checking ? null : (
        <p className="muted">No check has run yet.</p>
      )}
    </section>
  )
}
