import { Trans } from 'react-i18next'
import type { NetworkCheckRegion, NetworkCheckReport } from '../../shared/networkCheck'
import { say, useLang } from '../i18n/phrase'
import { formatClock, formatInteger, formatRtt } from '../logic/format'
import {
  checkedEndpointsWords,
  endpointName,
  outlinePhrases,
  portsOfRegions,
  portsOfReport,
  ruleCell,
  verdictPhrase,
} from '../logic/networkWords'
import { regionName } from '../logic/words'
import { useApp, useController } from './context'

/**
 * One region's endpoints. The rule column: the rule, or for what no rule fixes, who acts instead (issue
 * 10 item 9), worded from the row in the language shown (logic/networkWords.ts).
 */
function RegionTable(props: { report: NetworkCheckReport; region: NetworkCheckRegion }): React.JSX.Element {
  const { report, region } = props
  const lang = useLang()
  const embedded = useApp((s) => s.settings?.embedded ?? false)
  const { t } = lang
  return (
    <table className="network-table" data-testid={`network-region-${region.id}`} data-ok={String(region.ok)}>
      <caption>
        <span className="region-name">{regionName(lang, region, embedded)}</span>{' '}
        <code>{(region.proxyHosts ?? [region.proxyHost]).join(', ')}</code>{' '}
        <span className={region.ok ? 'good' : 'bad'}>{say(t, verdictPhrase(report, region))}</span>
      </caption>
      <thead>
        <tr>
          <th scope="col">{t('network:column.endpoint')}</th>
          <th scope="col">{t('network:column.target')}</th>
          <th scope="col">{t('network:column.status')}</th>
          <th scope="col">{t('network:column.rtt')}</th>
          <th scope="col">{t('network:column.rule')}</th>
        </tr>
      </thead>
      <tbody>
        {region.rows.map((row) => {
          const rule = ruleCell(report, region, row)
          return (
            <tr key={row.endpoint} data-testid={`network-row-${row.endpoint}`} data-status={row.status}>
              <th scope="row">
                {endpointName(lang, row)}
                {/* The engine's own words, in English: a technical detail for IT and the logs. */}
                <div className="muted detail" lang="en">
                  {row.detail}
                </div>
              </th>
              <td data-testid="network-target">
                <code>{row.target}</code>
              </td>
              <td data-testid="network-status" className={`status-${row.status}`}>
                {t(`network:status.${row.status}`)}
                {row.errorCode === undefined ? null : <code> {row.errorCode}</code>}
              </td>
              <td data-testid="network-rtt">{formatRtt(lang, row.rttMs)}</td>
              <td data-testid="network-rule">{rule === null ? '' : say(t, rule)}</td>
            </tr>
          )
        })}
      </tbody>
    </table>
  )
}

/** The export's outcome; a failure's cause is the notice above (the controller's only failed state). */
function ExportResult(): React.JSX.Element | null {
  const result = useApp((s) => s.diagnosticsExport)
  const { t } = useLang()
  if (result.status === 'idle') return null
  return (
    <p className="export-result" data-testid="export-result" data-status={result.status}>
      {result.status === 'writing' ? t('network:exportWriting') : null}
      {result.status === 'written' ? (
        <Trans
          i18nKey="network:exportWritten"
          values={{ path: result.path }}
          components={{ code: <code data-testid="export-path" /> }}
        />
      ) : null}
      {result.status === 'failed' ? <span className="problem">{t('network:exportFailed')}</span> : null}
    </p>
  )
}

/**
 * The verdict in one line and what to do as a list, not one paragraph naming every endpoint (the table
 * does that): with two regions down, the paragraph filled the window. The export keeps the full paragraph.
 */
function NetworkSummary(props: { report: NetworkCheckReport }): React.JSX.Element {
  const { report } = props
  const lang = useLang()
  const outline = outlinePhrases(lang, report)
  return (
    <div
      className={`network-summary ${report.ok ? 'good' : 'bad'}`}
      data-testid="network-summary"
      data-ok={String(report.ok)}
    >
      <p className="network-headline">{say(lang.t, outline.headline)}</p>
      {outline.actions.length > 0 ? (
        <ul className="network-actions" data-testid="network-actions">
          {outline.actions
            .map((action) => say(lang.t, action))
            .map((action) => (
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
  const lang = useLang()
  const { t } = lang
  const endpoints = checkedEndpointsWords(
    lang,
    report ? portsOfReport(report) : portsOfRegions(regions ?? []),
  )
  const controller = useController()
  return (
    <section className="panel network" aria-labelledby="network-title" data-testid="network-check">
      <h2 id="network-title">{t('network:title')}</h2>
      <p className="hint" data-testid="network-description">
        {t('network:description', { endpoints })}
      </p>
      <div className="controls">
        <button
          type="button"
          className="primary"
          data-testid="network-run"
          disabled={checking}
          onClick={() => void controller.runNetworkCheck()}
        >
          {checking ? t('network:checking') : report ? t('network:runAgain') : t('network:run')}
        </button>
        <button
          type="button"
          data-testid="export-diagnostics"
          disabled={writing}
          onClick={() => void controller.exportDiagnostics()}
        >
          {t('network:export')}
        </button>
      </div>
      <ExportResult />
      {problem ? (
        <p className="problem" data-testid="network-problem">
          {t('network:didNotRun')}
        </p>
      ) : null}
      {report ? (
        <>
          <NetworkSummary report={report} />
          {report.httpProxy ? (
            <p className="hint" data-testid="network-http-proxy">
              {t('network:httpProxy', { proxy: report.httpProxy })}
            </p>
          ) : null}
          {report.regions.map((region) => (
            <RegionTable key={region.id} report={report} region={region} />
          ))}
          <p className="hint">
            {t('network:checkedAt', {
              time: formatClock(lang, Date.parse(report.startedAt)),
              duration: formatInteger(lang, report.durationMs),
            })}
          </p>
        </>
      ) : checking ? null : (
        <p className="muted">{t('network:noCheck')}</p>
      )}
    </section>
  )
}
