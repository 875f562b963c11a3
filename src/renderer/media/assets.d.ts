/** Vite: a module bundled on its own and imported as its URL (the AudioWorklet; vite/client declares it too). */
declare module '*?worker&url' {
  const url: string
  export default url
}

/** Vite: a stylesheet imported for its side effect (bundled into a CSS file the CSP allows). */
declare module '*.css'
