import { createContext, useContext, type ReactNode } from 'react'
import { useStore } from 'zustand'
import { useShallow } from 'zustand/react/shallow'
import type { Controller } from '../controller'
import type { MediaView } from '../media/mediaEngine'
import type { AppState, AppStore } from '../state/types'

interface AppContextValue {
  store: AppStore
  controller: Controller
  media: MediaView
}

const AppContext = createContext<AppContextValue | null>(null)

export function AppProvider(props: AppContextValue & { children: ReactNode }): React.JSX.Element {
  const { children, ...value } = props
  return <AppContext.Provider value={value}>{children}</AppContext.Provider>
}

function useAppContext(): AppContextValue {
  const value = useContext(AppContext)
  if (!value) throw new Error('AppProvider is missing')
  return value
}

/** One value per hook: components re-render only when what they select changes. */
export function useApp<T>(selector: (state: AppState) => T): T {
  return useStore(useAppContext().store, selector)
}

/** A derived object, compared shallowly. */
export function useAppShallow<T>(selector: (state: AppState) => T): T {
  return useStore(useAppContext().store, useShallow(selector))
}

/** The store itself, for handlers that read the state when they run rather than when they render. */
export function useAppStore(): AppStore {
  return useAppContext().store
}

export function useController(): Controller {
  return useAppContext().controller
}

export function useMediaView(): MediaView {
  return useAppContext().media
}
