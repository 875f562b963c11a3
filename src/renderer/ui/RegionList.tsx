import type { RegionProbeResult } from '../../shared/engine'
import type { RegionView } from '../../shared/ipc'
import { useLang, type Lang } from '../i18n/phrase'
import { formatMs } from '../logic/format'
import { useApp, useController } from './context'
import { LockBadge } from './LockBadge'
import { endpointName } from '../logic/networkWords'
import { regionName } from '../logic/words'

function probeWords(lang: Lang, probe: RegionProbeResult | undefined): { text: string; tone: string } {
  const { t } = lang
  if (!probe) return { text: t('common:region.notChecked'), tone: 'muted' }
  if (!probe.reachable) {
    const blocked = probe.checks.find((c) => c.status !== 'reachable')
    const text = blocked
      ? t('common:region.unreachableBecause', {
          check: endpointName(lang, blocked),
          status: t(`network:status.${blocked.status}`),
        })
      : t('common:region.unreachable')
    return { text, tone: 'bad' }
  }
  return { text: t('common:region.reachable', { rtt: formatMs(lang, probe.rttMs) }), tone: 'good' }
}

/** Each whitelisted port as probed: what the network check view of issue 6 will build on. */
function ProbeChecks(props: { probe: RegionProbeResult }): React.JSX.Element {
  const lang = useLang()
  return (
    <details className="checks">
      <summary>{lang.t('common:region.portsChecked')}</summary>
      <ul>
        {props.probe.checks.map((check) => (
          <li key={check.endpoint} data-testid={`check-${check.endpoint}`} data-status={check.status}>
            <span className={check.status === 'reachable' ? 'good' : 'bad'}>{endpointName(lang, check)}</span>{' '}
            {check.target} {lang.t(`network:status.${check.status}`)}{' '}
            {check.rttMs === undefined ? '' : `· ${formatMs(lang, check.rttMs)}`}
            {/* The engine's own words, in English: a technical detail for IT and the logs. */}
            <div className="muted" lang="en">
              {check.detail}
            </div>
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
  const lang = useLang()
  const embedded = useApp((s) => s.settings?.embedded ?? false)
  const words = probeWords(lang, probe)
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
        <span className="region-name">{regionName(lang, region, embedded)}</span>
        <span className="region-address">
          {lang.t('common:region.address', {
            host: region.proxyHost,
            udp: region.ports.udp.join('/'),
            tcp: region.ports.tcp,
          })}
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
  const { t } = useLang()

  return (
    <section className="panel" aria-labelledby="region-title">
      <h2 id="region-title">
        {t('common:region.title')}
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
            <span className="region-name">{t('common:region.auto')}</span>
            <span className="region-address">{t('common:region.autoHint')}</span>
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
        {probing ? t('common:region.checking') : t('common:region.checkAgain')}
      </button>
    </section>
  )
}
