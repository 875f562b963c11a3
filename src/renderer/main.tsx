import { StrictMode, useEffect, useState } from 'react'
import { createRoot } from 'react-dom/client'
import { CONNECTION_STATE_NAMES, ConnectionState } from '../shared/engine'

/** A placeholder root: the name and the live connection state from the bridge. The real UI is later work. */
function App(): React.JSX.Element {
  const [state, setState] = useState<ConnectionState>(ConnectionState.Disconnected)
  const [problem, setProblem] = useState<string | undefined>()

  useEffect(() => {
    const off = window.pinhole.on('connectionStateChanged', (next) => setState(next))
    window.pinhole
      .getSettings()
      .then((reply) => {
        if (reply.ok) setState(reply.value.connectionState)
        else setProblem(reply.error.message)
      })
      .catch((error: unknown) => setProblem(String(error)))
    return off
  }, [])

  return (
    <main>
      <h1>Pinhole</h1>
      <p>
        Connection: <output>{CONNECTION_STATE_NAMES[state]}</output>
      </p>
      {problem === undefined ? null : <p role="alert">{problem}</p>}
    </main>
  )
}

const root = document.getElementById('root')
if (!root) throw new Error('index.html has no #root')
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
)
