import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { createController } from './controller'
import { createMediaEngine } from './media/mediaEngine'
import { createAppStore } from './state/store'
import { App } from './ui/App'
import { AppProvider } from './ui/context'
import './styles.css'

const store = createAppStore()
const media = createMediaEngine(window, (sentence) =>
  store
    .getState()
    .addNotice({ severity: 'warning', code: null, sentence, context: 'Media', slot: 'media' }, Date.now()),
)
const controller = createController({ bridge: window.pinhole, store, media })

const root = document.getElementById('root')
if (!root) throw new Error('index.html has no #root')
createRoot(root).render(
  <StrictMode>
    <AppProvider store={store} controller={controller} media={media}>
      <App />
    </AppProvider>
  </StrictMode>,
)
void controller.init()
