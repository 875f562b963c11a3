import type { RegionProbeResult } from '../../shared/engine'
import type { RegionView } from '../../shared/ipc'
import { formatMs } from '../logic/format'
import { useApp, useController } from './context'
import { LockBadge } from './LockBadge'

function probeWords(probe: RegionProbeResult | undefined): { text: string; tone: string } {
  if (!probe) return { text: 'not checked', tone: 'muted' }
  if (!probe.reachable) {
    const blocked = probe.checks.find((c) => c.status !== 'reachable')
    return { text: blocked ? `unreachable (${blocked.check} ${blocked.status})` : 'unreachable', tone: 'bad' }
  }
  return { text: `reachable · ${formatMs(probe.rttMs)}`, tone: 'good' }
}

/** Each whitelisted port as probed: what the network check view of issue 6 will build on. */
function ProbeChecks(props: { probe: RegionProbeResult }): React.JSX.Element {
  return (
    <details className="checks">
      <summary>Ports checked</summary>
      <ul>
        {props.probe.checks.map((check) => (
          <li key={check.endpoint} data-testid={`check-${check.endpoint}`} data-status={check.status}>
            <span className={check.status === 'reachable' ? 'good' : 'bad'}>{check.check}</span>{' '}
            {check.target} {check.status} {check.rttMs === undefined ? '' : `· ${formatMs(check.rttMs)}`}
            <div className="muted">{check.detail}</div>
          </li>
        ))}
      </ul>
    </details>
  )
}

function RegionRow(props: { region: RegionView; selected: boolean; locked: boolean }): React.JSX.Element {
  const { region, selected, locked } = props
  const probe = useApp((s) => s.probes[region.id])
  const controller = useController()
  const words = probeWords(probe)
  return (
    <li data-testid={`region-${region.id}`} data-reachable={probe ? String(probe.reachable) : undefined}>
      <label>
        <input
          type="radio"
          name="region"
          checked={selected}
          disabled={locked}
          onChange={() => void controller.setRegion(region.id)}
        />
        <span className="region-name">{region.name}</span>
        <span className="region-address">
          {region.proxyHost} · UDP {region.ports.udp.join('/')} · TCP {region.ports.tcp}
        </span>
        <span className={`region-probe ${words.tone}`} data-testid="region-probe">
          {words.text}
        </span>
      </label>
      {probe && probe.checks.length > 0 ? <ProbeChecks probe={probe} /> : null}
    </li>
  )
}

/** Every configured region with its measured RTT and reachability, plus Auto (lowest RTT that answers). */
export function RegionList(): React.JSX.Element {
  const regions = useApp((s) => s.settings?.regions)
  const choice = useApp((s) => s.settings?.region ?? 'auto')
  const locked = useApp((s) => s.settings?.locked.includes('region') ?? false)
  const probing = useApp((s) => s.probing)
  const controller = useController()

  return (
    <section className="panel" aria-labelledby="region-title">
      <h2 id="region-title">
        Region
        {locked ? <LockBadge testId="region-locked" /> : null}
      </h2>
      <ul className="regions" data-testid="region-list">
        <li data-testid="region-auto">
          <label>
            <input
              type="radio"
              name="region"
              checked={choice === 'auto'}
              disabled={locked}
              onChange={() => void controller.setRegion('auto')}
            />
            <span className="region-name">Auto</span>
            <span className="region-address">the reachable region with the lowest round trip</span>
          </label>
        </li>
        {(regions ?? []).map((region) => (
          <RegionRow key={region.id} region={region} selected={choice === region.id} locked={locked} />
        ))}
      </ul>
      <button
        type="button"
        className="link"
        data-testid="probe-regions"
        disabled={probing}
        onClick={() => void controller.probeRegions()}
      >
        {probing ? 'Checking…' : 'Check regions again'}
      </button>
    </section>
  )
}
