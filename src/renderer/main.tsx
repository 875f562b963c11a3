import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { I18nextProvider } from 'react-i18next'
import { createController } from './controller'
import { createI18n, pickLanguage } from './i18n'
import { createMediaEngine } from './media/mediaEngine'
import { createAppStore } from './state/store'
import { App } from './ui/App'
import { AppProvider } from './ui/context'
import { LanguageFollower } from './ui/LanguageFollower'
import './styles.css'

const store = createAppStore()
const media = createMediaEngine(window, ({ sentence, phrase }) =>
  store
    .getState()
    .addNotice(
      { severity: 'warning', code: null, sentence, phrase, context: 'Media', slot: 'media' },
      Date.now(),
    ),
)
const controller = createController({ bridge: window.pinhole, store, media })

const root = document.getElementById('root')
if (!root) throw new Error('index.html has no #root')
// The browser's language until the host's settings say otherwise (LanguageFollower switches then).
const firstLanguage = pickLanguage(navigator.languages)
document.documentElement.lang = firstLanguage
void createI18n(firstLanguage).then((i18n) => {
  createRoot(root).render(
    <StrictMode>
      <I18nextProvider i18n={i18n}>
        <AppProvider store={store} controller={controller} media={media}>
          <LanguageFollower />
          <App />
        </AppProvider>
      </I18nextProvider>
    </StrictMode>,
  )
})
void controller.init()
