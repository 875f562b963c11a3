import { useEffect, useRef, useState } from 'react'
import { useTranslation } from 'react-i18next'
import { ConnectionState } from '../../shared/engine'
import { meterLevel, rmsOf } from '../logic/devices'
import { useApp, useController } from './context'
import { DevicePicker } from './DevicePicker'
import './devices.css'

/** How often the meter moves (a React render each time). */
const METER_INTERVAL_MS = 100

function constraint(deviceId: string | undefined): MediaTrackConstraints | boolean {
  return deviceId === undefined ? true : { deviceId: { exact: deviceId } }
}

/**
 * The chosen camera in the preview, while it is on; its own capture, released when the preview goes (the
 * call opens the camera itself). Once it runs, the device lists are read again: labels come with permission.
 */
function usePreviewCamera(video: React.RefObject<HTMLVideoElement | null>, on: boolean): boolean {
  const deviceId = useApp((s) => s.deviceChoice.camera)
  const controller = useController()
  const [failed, setFailed] = useState(false)
  useEffect(() => {
    if (!on) return
    let stream: MediaStream | null = null
    let gone = false
    setFailed(false)
    navigator.mediaDevices
      .getUserMedia({ video: constraint(deviceId) })
      .then((opened) => {
        stream = opened
        if (gone) return opened.getTracks().forEach((t) => t.stop())
        if (video.current) video.current.srcObject = opened
        void controller.devices.refresh()
      })
      .catch(() => !gone && setFailed(true))
    return () => {
      gone = true
      stream?.getTracks().forEach((t) => t.stop())
      if (video.current) video.current.srcObject = null
    }
  }, [on, deviceId, video, controller])
  return failed
}

/** The chosen microphone's level (0..1, for a meter): an AnalyserNode on the preview's own capture. */
function useMicLevel(on: boolean): number {
  const deviceId = useApp((s) => s.deviceChoice.microphone)
  const controller = useController()
  const [level, setLevel] = useState(0)
  useEffect(() => {
    if (!on) return
    let stream: MediaStream | null = null
    let context: AudioContext | null = null
    let timer: ReturnType<typeof setInterval> | undefined
    let gone = false
    void navigator.mediaDevices
      .getUserMedia({ audio: constraint(deviceId) })
      .then((opened) => {
        stream = opened
        if (gone) return opened.getTracks().forEach((t) => t.stop())
        context = new AudioContext()
        const analyser = context.createAnalyser()
        analyser.fftSize = 2048
        context.createMediaStreamSource(opened).connect(analyser)
        const samples = new Float32Array(analyser.fftSize)
        timer = setInterval(() => {
          analyser.getFloatTimeDomainData(samples)
          setLevel(meterLevel(rmsOf(samples)))
        }, METER_INTERVAL_MS)
        void context.resume().catch(() => undefined)
        void controller.devices.refresh()
      })
      .catch(() => undefined)
    return () => {
      gone = true
      clearInterval(timer)
      stream?.getTracks().forEach((t) => t.stop())
      void context?.close()
      setLevel(0)
    }
  }, [on, deviceId, controller])
  return level
}

function PreviewPanel(): React.JSX.Element {
  const { t } = useTranslation('devices')
  const camOn = useApp((s) => s.camOn)
  const micOn = useApp((s) => s.micOn)
  const video = useRef<HTMLVideoElement>(null)
  const cameraFailed = usePreviewCamera(video, camOn)
  const level = useMicLevel(micOn)
  const cameraWords = !camOn ? t('preview.cameraOff') : cameraFailed ? t('preview.cameraFailed') : null
  return (
    <section className="panel preview" aria-labelledby="preview-title" data-testid="device-preview">
      <h2 id="preview-title">{t('preview.title')}</h2>
      <video
        ref={video}
        aria-label={t('preview.video')}
        data-testid="preview-video"
        autoPlay
        muted
        playsInline
      />
      {cameraWords ? <p className="muted">{cameraWords}</p> : null}
      <div className="level">
        <span id="preview-level">{t('preview.level')}</span>
        <meter
          aria-labelledby="preview-level"
          data-testid="mic-level"
          data-level={level.toFixed(3)}
          min={0}
          max={1}
          value={level}
        />
      </div>
      {micOn ? null : <p className="muted">{t('preview.micOff')}</p>}
      <DevicePicker idPrefix="preview-device" />
    </section>
  )
}

/** Before joining: the camera, a microphone meter and the pickers; gone once a join starts. */
export function Preview(): React.JSX.Element | null {
  const outside = useApp((s) => s.connectionState === ConnectionState.Disconnected && !s.busy)
  return outside ? <PreviewPanel /> : null
}
